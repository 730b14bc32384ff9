package integrations

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// hook is a hook of .pre-commit-hooks.yaml, with pre-commit's defaults
// for what it leaves out. Decoded strictly: a key pre-commit does not
// know (a typo such as "file:") fails the test.
type hook struct {
	Description             string   `yaml:"description"`
	MinimumPreCommitVersion string   `yaml:"minimum_pre_commit_version"`
	AlwaysRun               bool     `yaml:"always_run"`
	Stages                  []string `yaml:"stages"`
	TypesOr                 []string `yaml:"types_or"`
	ID                      string   `yaml:"id"`
	Name                    string   `yaml:"name"`
	Entry                   string   `yaml:"entry"`
	Args                    []string `yaml:"args"`
	Language                string   `yaml:"language"`
	Files                   string   `yaml:"files"`
	Exclude                 string   `yaml:"exclude"`
	PassFilenames           *bool    `yaml:"pass_filenames"`
	RequireSerial           bool     `yaml:"require_serial"`
	Types                   []string `yaml:"types"`
}

func loadHooks(t *testing.T) map[string]hook {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, ".pre-commit-hooks.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var hooks []hook
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&hooks); err != nil {
		t.Fatalf(".pre-commit-hooks.yaml: %v", err)
	}
	out := map[string]hook{}
	for _, h := range hooks {
		out[h.ID] = h
	}
	return out
}

// matches is pre-commit's file filter: re.search of files, not of
// exclude (Python's and Go's syntax agree on these patterns; the test
// compiles them with Go's).
func (h hook) matches(t *testing.T, path string) bool {
	t.Helper()
	files := regexp.MustCompile(h.Files)
	exclude := regexp.MustCompile("^$")
	if h.Exclude != "" {
		exclude = regexp.MustCompile(h.Exclude)
	}
	return files.MatchString(path) && !exclude.MatchString(path)
}

// run runs the hook as pre-commit does in repo: the entry split into
// words, then args, then (unless pass_filenames is false) the tracked
// files the hook matches, from the repository root, with the hook's
// environment (for language golang, the installed binary) first on PATH.
// require_serial hooks get every file in one run, as here.
func (h hook) run(t *testing.T, repo string) (code int, stdout, stderr string, files []string) {
	t.Helper()
	argv := append(strings.Fields(h.Entry), h.Args...)
	if h.PassFilenames == nil || *h.PassFilenames {
		ls := exec.Command("git", "ls-files")
		ls.Dir = repo
		out, err := ls.Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if f != "" && h.matches(t, f) {
				files = append(files, f)
			}
		}
		if len(files) == 0 {
			return 0, "", "", nil // pre-commit skips a hook with no files
		}
		argv = append(argv, files...)
	}
	path, err := exec.LookPath(filepath.Join(bin, argv[0]))
	if err != nil {
		t.Fatalf("%s: entry %q is not what the golang hook installs: %v", h.ID, argv[0], err)
	}
	cmd := exec.Command(path, argv[1:]...)
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "NO_COLOR=1")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	code = exitCode(t, cmd)
	return code, out.String(), errOut.String(), files
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// newRepo makes a git repository of the insecure example, a Helm chart,
// and files no hook is for, all added to the index.
func newRepo(t *testing.T, example string) string {
	t.Helper()
	repo := t.TempDir()
	git(t, repo, "init", "-q")
	copyDir(t, filepath.Join(root, "examples", example), filepath.Join(repo, "app"))
	writeFile(t, filepath.Join(repo, "charts", "web", "Chart.yaml"), "apiVersion: v2\nname: web\nversion: 0.1.0\n")
	writeFile(t, filepath.Join(repo, "charts", "web", "values.yaml"), "image: nginx:1.27\n")
	writeFile(t, filepath.Join(repo, "charts", "web", "templates", "pod.yaml"), `apiVersion: v1
kind: Pod
metadata:
  name: {{ .Release.Name }}-web
spec:
  containers:
  - name: web
    image: {{ .Values.image }}
    securityContext:
      privileged: true
`)
	writeFile(t, filepath.Join(repo, "README.md"), "# app\n")
	writeFile(t, filepath.Join(repo, "main.go"), "package main\n")
	git(t, repo, "add", "-A")
	return repo
}

func TestPreCommitHooksFile(t *testing.T) {
	hooks := loadHooks(t)
	ids := make([]string, 0, len(hooks))
	for id := range hooks {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	if want := []string{"kubeharden-fix", "kubeharden-scan", "kubeharden-scan-repo"}; !slices.Equal(ids, want) {
		t.Fatalf("hooks %v, want %v", ids, want)
	}
	for id, h := range hooks {
		// language golang runs `go install ./...` in this repository: the
		// entry must be the binary cmd/kubeharden installs.
		if h.Language != "golang" || strings.Fields(h.Entry)[0] != "kubeharden" || h.Name == "" || h.Files == "" {
			t.Errorf("%s: language %q, entry %q, name %q, files %q", id, h.Language, h.Entry, h.Name, h.Files)
		}
		if _, err := os.Stat(filepath.Join(root, "cmd", "kubeharden", "main.go")); err != nil {
			t.Fatal(err)
		}
		// One run sees every file: one report, cross-file facts.
		if !h.RequireSerial {
			t.Errorf("%s: not require_serial", id)
		}
	}
}

func TestPreCommitFilePatterns(t *testing.T) {
	hooks := loadHooks(t)
	for _, tc := range []struct {
		path             string
		scan, repo, fixH bool
	}{
		{"deploy/web.yaml", true, true, true},
		{"k8s/db.yml", true, true, true},
		{"list.json", false, false, false},
		{"tsconfig.json", false, false, false},
		{"Dockerfile", true, true, true},
		{"build/Dockerfile.prod", true, true, true},
		{"api.Dockerfile", true, true, true},
		{"Containerfile", true, true, true},
		{"charts/web/templates/deploy.yaml", false, true, false},
		{"charts/web/templates/_helpers.tpl", false, true, false},
		{"charts/web/values.yaml", true, true, true},
		{"README.md", false, false, false},
		{"main.go", false, false, false},
		{"Dockerfiles/notes.txt", false, false, false},
		{"yaml.go", false, false, false},
	} {
		for id, want := range map[string]bool{"kubeharden-scan": tc.scan, "kubeharden-scan-repo": tc.repo, "kubeharden-fix": tc.fixH} {
			if got := hooks[id].matches(t, tc.path); got != want {
				t.Errorf("%s on %s: %v, want %v", id, tc.path, got, want)
			}
		}
	}
}

// TestPreCommitScan runs the scan hooks on a repository: findings at or
// above high fail the commit (exit 1); the hardened example passes.
func TestPreCommitScan(t *testing.T) {
	hooks := loadHooks(t)
	repo := newRepo(t, "insecure-app")
	code, out, errOut, files := hooks["kubeharden-scan"].run(t, repo)
	if code != 1 {
		t.Fatalf("kubeharden-scan: exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"app/deploy.yaml:", "app/Dockerfile:", "  HIGH  "} {
		if !strings.Contains(out, want) {
			t.Errorf("kubeharden-scan: no %q in\n%s", want, out)
		}
	}
	// Templates are not passed (they are not YAML): no input error.
	if slices.Contains(files, "charts/web/templates/pod.yaml") || strings.Contains(out, "errors") {
		t.Errorf("kubeharden-scan got the chart's template: %v\n%s", files, out)
	}

	code, out, errOut, _ = hooks["kubeharden-scan-repo"].run(t, repo)
	if code != 1 || !strings.Contains(out, "charts/web/templates/pod.yaml:") || !strings.Contains(out, "privileged-container") {
		t.Fatalf("kubeharden-scan-repo: exit %d, want 1 and the rendered chart's findings\n%s\n%s", code, out, errOut)
	}

	hardened := t.TempDir()
	git(t, hardened, "init", "-q")
	copyDir(t, filepath.Join(root, "examples", "hardened-app"), hardened)
	git(t, hardened, "add", "-A")
	for _, id := range []string{"kubeharden-scan", "kubeharden-scan-repo"} {
		if code, out, errOut, _ := hooks[id].run(t, hardened); code != 0 {
			t.Errorf("%s on the hardened example: exit %d\n%s\n%s", id, code, out, errOut)
		}
	}
}

// TestPreCommitFix: the fix hook rewrites the files and exits 1 (pre-commit
// also fails a hook that changed files; the exit code says so to any
// runner); run again, it changes nothing and exits 0.
func TestPreCommitFix(t *testing.T) {
	h := loadHooks(t)["kubeharden-fix"]
	repo := newRepo(t, "insecure-app")
	code, out, errOut, files := h.run(t, repo)
	if code != 1 {
		t.Fatalf("first run: exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	changed := strings.Fields(git(t, repo, "diff", "--name-only"))
	if !slices.Contains(changed, "app/deploy.yaml") || !slices.Contains(changed, "app/Dockerfile") {
		t.Errorf("first run changed %v, want app/deploy.yaml and app/Dockerfile among them", changed)
	}
	for _, c := range changed {
		if !slices.Contains(files, c) {
			t.Errorf("changed %s, which the hook was not given", c)
		}
	}
	if slices.Contains(files, "charts/web/templates/pod.yaml") {
		t.Error("the fix hook was given a Helm template")
	}
	git(t, repo, "add", "-A")
	code, out, errOut, _ = h.run(t, repo)
	if code != 0 {
		t.Errorf("second run: exit %d, want 0\n%s\n%s", code, out, errOut)
	}
	if d := git(t, repo, "diff", "--name-only"); d != "" {
		t.Errorf("second run changed %s", d)
	}
}
