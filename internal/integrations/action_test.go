package integrations

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

type action struct {
	Name   string `yaml:"name"`
	Inputs map[string]struct {
		Description string `yaml:"description"`
		Default     string `yaml:"default"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Value string `yaml:"value"`
	} `yaml:"outputs"`
	Runs struct {
		Using string `yaml:"using"`
		Steps []step `yaml:"steps"`
	} `yaml:"runs"`
}

type step struct {
	Name  string            `yaml:"name"`
	ID    string            `yaml:"id"`
	If    string            `yaml:"if"`
	Uses  string            `yaml:"uses"`
	With  map[string]string `yaml:"with"`
	Shell string            `yaml:"shell"`
	Env   map[string]string `yaml:"env"`
	Run   string            `yaml:"run"`
}

func loadAction(t *testing.T) (*action, []byte) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var a action
	if err := yaml.Unmarshal(data, &a); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	return &a, data
}

func (a *action) step(t *testing.T, name string) step {
	t.Helper()
	for _, s := range a.Runs.Steps {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("action.yml has no step %q", name)
	return step{}
}

var expr = regexp.MustCompile(`\$\{\{\s*(.*?)\s*\}\}`)

// context is what the expressions the action uses may read.
type context struct {
	inputs    map[string]string
	actionRef string
	outputs   map[string]string // "step.output"
}

// eval evaluates the expressions of action.yml: inputs.X,
// github.action_ref, steps.S.outputs.O, and a || b (the first non-empty).
func (c *context) eval(t *testing.T, s string) string {
	t.Helper()
	return expr.ReplaceAllStringFunc(s, func(m string) string {
		for _, alt := range strings.Split(expr.FindStringSubmatch(m)[1], "||") {
			alt = strings.TrimSpace(alt)
			var v string
			switch {
			case strings.HasPrefix(alt, "inputs."):
				var ok bool
				if v, ok = c.inputs[strings.TrimPrefix(alt, "inputs.")]; !ok {
					t.Fatalf("expression %s reads an undeclared input", m)
				}
			case alt == "github.action_ref":
				v = c.actionRef
			case strings.HasPrefix(alt, "steps."):
				parts := strings.Split(alt, ".")
				v = c.outputs[parts[1]+"."+parts[3]]
			default:
				t.Fatalf("expression %s: the test does not know %q", m, alt)
			}
			if v != "" {
				return v
			}
		}
		return ""
	})
}

func newContext(a *action, inputs map[string]string) *context {
	c := &context{inputs: map[string]string{}, outputs: map[string]string{}}
	for name, in := range a.Inputs {
		c.inputs[name] = in.Default
	}
	for k, v := range inputs {
		c.inputs[k] = v
	}
	return c
}

// runStep runs a run step as the runner does a composite action's bash
// step (bash --noprofile --norc -eo pipefail), with its env evaluated, in
// dir, kubeharden on PATH (the install step's work), and GITHUB_OUTPUT.
// It returns the exit code, the output and the step outputs it set.
func runStep(t *testing.T, s step, c *context, dir string) (int, string, map[string]string) {
	t.Helper()
	if s.Shell != "bash" {
		t.Fatalf("step %q: shell %q, want bash", s.Name, s.Shell)
	}
	script := filepath.Join(t.TempDir(), "step.sh")
	writeFile(t, script, s.Run)
	outFile := filepath.Join(t.TempDir(), "output")
	writeFile(t, outFile, "")
	cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "GITHUB_OUTPUT="+outFile, "NO_COLOR=1")
	for k, v := range s.Env {
		cmd.Env = append(cmd.Env, k+"="+c.eval(t, v))
	}
	out, err := cmd.CombinedOutput()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{}
	data, _ := os.ReadFile(outFile)
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			outputs[k] = v
			if s.ID != "" {
				c.outputs[s.ID+"."+k] = v
			}
		}
	}
	return code, string(out), outputs
}

func TestActionFile(t *testing.T) {
	a, data := loadAction(t)
	if a.Runs.Using != "composite" {
		t.Errorf("runs.using %q, want composite", a.Runs.Using)
	}
	// Every expression reads a declared input (or the step output, ref).
	for _, m := range expr.FindAllStringSubmatch(string(data), -1) {
		for _, in := range regexp.MustCompile(`inputs\.([a-z-]+)`).FindAllStringSubmatch(m[1], -1) {
			if _, ok := a.Inputs[in[1]]; !ok {
				t.Errorf("%s reads undeclared input %q", m[0], in[1])
			}
		}
	}
	// No expression in a script: inputs reach scripts through env only,
	// so an input cannot inject shell.
	for _, s := range a.Runs.Steps {
		if strings.Contains(s.Run, "${{") {
			t.Errorf("step %q splices an expression into its script", s.Name)
		}
	}
	if s := a.step(t, "Set up Go"); !strings.HasPrefix(s.Uses, "actions/setup-go@v") || s.With["go-version"] != "${{ inputs.go-version }}" {
		t.Errorf("setup step: %+v", s)
	}
	up := a.step(t, "Upload SARIF")
	if !strings.HasPrefix(up.Uses, "github/codeql-action/upload-sarif@v") || up.With["sarif_file"] != "${{ inputs.sarif-file }}" || !strings.Contains(up.If, "always()") {
		t.Errorf("upload step: %+v", up)
	}
	// The step order: install, scan, upload (even when the scan failed),
	// then fail.
	var names []string
	for _, s := range a.Runs.Steps {
		names = append(names, s.Name)
	}
	if got := strings.Join(names, ", "); got != "Set up Go, Install kubeharden, Scan, Upload SARIF, Result" {
		t.Errorf("steps: %s", got)
	}
}

// TestActionInstall: the install step installs this module's command at
// the version input, or at the ref the action is used at.
func TestActionInstall(t *testing.T) {
	a, _ := loadAction(t)
	s := a.step(t, "Install kubeharden")
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	module := strings.Fields(strings.SplitN(string(mod), "\n", 2)[0])[1]
	if want := `go install "` + module + `/cmd/kubeharden@${VERSION}"`; !strings.Contains(s.Run, want) {
		t.Errorf("install step does not run %s:\n%s", want, s.Run)
	}
	if _, err := os.Stat(filepath.Join(root, "cmd", "kubeharden", "main.go")); err != nil {
		t.Error(err)
	}
	c := newContext(a, nil)
	c.actionRef = "v1.4.0"
	if v := c.eval(t, s.Env["VERSION"]); v != "v1.4.0" {
		t.Errorf("VERSION without a version input: %q, want the action's ref", v)
	}
	c = newContext(a, map[string]string{"version": "v2.0.1"})
	c.actionRef = "main"
	if v := c.eval(t, s.Env["VERSION"]); v != "v2.0.1" {
		t.Errorf("VERSION with a version input: %q", v)
	}
	// With neither, the step stops before go install (run for real: no go
	// is reached).
	code, out, _ := runStep(t, s, newContext(a, nil), t.TempDir())
	if code != 2 || !strings.Contains(out, "set the version input") {
		t.Errorf("no version: exit %d\n%s", code, out)
	}
}

// TestActionScan runs the scan step's script with the built binary: the
// SARIF file is written, the exit code goes to the step output and not to
// the step (the upload must still run), and the result step fails the
// job from it.
func TestActionScan(t *testing.T) {
	a, _ := loadAction(t)
	scan, result := a.step(t, "Scan"), a.step(t, "Result")
	repo := t.TempDir()
	copyDir(t, filepath.Join(root, "examples", "insecure-app"), filepath.Join(repo, "insecure"))
	copyDir(t, filepath.Join(root, "examples", "hardened-app"), filepath.Join(repo, "my hardened"))

	sarifResults := func(path string) int {
		t.Helper()
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("no SARIF: %v", err)
		}
		var log struct {
			Version string
			Runs    []struct{ Results []json.RawMessage }
		}
		if err := json.Unmarshal(data, &log); err != nil || log.Version != "2.1.0" || len(log.Runs) != 1 {
			t.Fatalf("not a SARIF 2.1.0 log: %v\n%.300s", err, data)
		}
		return len(log.Runs[0].Results)
	}

	for _, tc := range []struct {
		name   string
		inputs map[string]string
		code   string
		sarif  string
		check  func(out string, results int)
	}{
		{"defaults: the repository", nil, "1", "kubeharden.sarif", func(out string, n int) {
			if n == 0 || !strings.Contains(out, "insecure/deploy.yaml:") {
				t.Errorf("%d results, log:\n%s", n, out)
			}
		}},
		{"hardened, a path with a space", map[string]string{"paths": "my hardened\n", "sarif-file": "out/h.sarif"}, "0", "out/h.sarif", func(_ string, n int) {
			if n != 0 {
				t.Errorf("hardened: %d results", n)
			}
		}},
		{"fail-on none", map[string]string{"paths": "insecure", "fail-on": "none"}, "0", "kubeharden.sarif", nil},
		{"spaces split paths", map[string]string{"paths": "my hardened"}, "2", "", nil},
		{"two paths, args", map[string]string{"paths": "insecure\nmy hardened\n\n", "args": "--skip run-as-non-root --fail-on critical"}, "0", "kubeharden.sarif", func(out string, _ int) {
			if strings.Contains(out, "run-as-non-root") {
				t.Errorf("--skip in args ignored:\n%s", out)
			}
		}},
		{"bad args", map[string]string{"args": "--bogus"}, "2", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.sarif != "" {
				_ = os.MkdirAll(filepath.Join(repo, filepath.Dir(tc.sarif)), 0o755)
				_ = os.Remove(filepath.Join(repo, tc.sarif))
			}
			c := newContext(a, tc.inputs)
			code, out, outputs := runStep(t, scan, c, repo)
			if code != 0 {
				t.Fatalf("the scan step itself failed (exit %d): the upload would not run\n%s", code, out)
			}
			if outputs["exit-code"] != tc.code {
				t.Fatalf("exit-code %q, want %s\n%s", outputs["exit-code"], tc.code, out)
			}
			n := 0
			if tc.code != "2" {
				n = sarifResults(filepath.Join(repo, tc.sarif))
			}
			if tc.check != nil {
				tc.check(out, n)
			}
			rcode, rout, _ := runStep(t, result, c, repo)
			if want := map[string]int{"0": 0, "1": 1, "2": 2}[tc.code]; rcode != want {
				t.Errorf("result step: exit %d, want %d\n%s", rcode, want, rout)
			}
		})
	}
	// With a baseline of the same scan, --fail-on-new passes.
	base := filepath.Join(repo, "base.json")
	cmd := exec.Command(filepath.Join(bin, "kubeharden"), "scan", "-o", "json", "--output-file", base, "--fail-on", "none", "insecure")
	cmd.Dir = repo
	if code := exitCode(t, cmd); code != 0 {
		t.Fatalf("baseline: exit %d", code)
	}
	c := newContext(a, map[string]string{"paths": "insecure", "args": "--baseline base.json --fail-on-new"})
	if _, out, outputs := runStep(t, scan, c, repo); outputs["exit-code"] != "0" || !strings.Contains(out, "since base.json") {
		t.Errorf("baseline: exit-code %q\n%s", outputs["exit-code"], out)
	}
	// No output at all (the scan step never ran): the job fails.
	if code, _, _ := runStep(t, result, newContext(a, nil), repo); code != 2 {
		t.Errorf("result without a scan: exit %d, want 2", code)
	}
}
