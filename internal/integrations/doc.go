// Package integrations tests what lets people use kubeharden where they
// already work: the pre-commit hooks (.pre-commit-hooks.yaml), the GitHub
// Action (action.yml), the krew plugin manifest (deploy/krew) and the
// kubectl plugin name. Those files live where their tools look for them;
// the tests here read them and run what they run against the kubeharden
// binary built from this tree, the way each tool would. They need git,
// bash, envsubst and sha256sum (Debian: gettext-base, coreutils) and
// kubectl on the PATH, and fail, not skip, without them.
package integrations
