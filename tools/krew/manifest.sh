#!/usr/bin/env bash
# Writes the krew plugin manifest of a release to stdout: the template
# deploy/krew/harden.yaml with ${VERSION} and the sha256 of each archive.
#
#   tools/krew/manifest.sh v1.2.3 dist/ > harden.yaml
#
# dist/ holds kubeharden_<version>_<os>_<arch>.tar.gz (.zip for Windows)
# for every platform the template lists; a missing archive is an error.
set -euo pipefail
version=${1:?usage: manifest.sh VERSION DIST}
dist=${2:?usage: manifest.sh VERSION DIST}
root=$(cd "$(dirname "$0")/../.." && pwd)
template=$root/deploy/krew/harden.yaml

export VERSION=$version
vars='${VERSION}'
for var in $(grep -o 'SHA256_[A-Z0-9_]*' "$template" | sort -u); do
	platform=$(echo "${var#SHA256_}" | tr 'A-Z' 'a-z')
	ext=tar.gz
	case $platform in windows_*) ext=zip ;; esac
	archive=$dist/kubeharden_${version}_${platform}.${ext}
	if [ ! -f "$archive" ]; then
		echo "manifest.sh: $archive: no such archive" >&2
		exit 1
	fi
	export "$var=$(sha256sum "$archive" | cut -d' ' -f1)"
	vars="$vars \${$var}"
done
envsubst "$vars" < "$template"
