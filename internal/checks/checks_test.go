package checks

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/check/clustercheck"
	"github.com/kubeharden/kubeharden/internal/config"
	"github.com/kubeharden/kubeharden/internal/k8sversion"
	"github.com/kubeharden/kubeharden/internal/policy"
	"github.com/kubeharden/kubeharden/internal/scan"
	"github.com/kubeharden/kubeharden/internal/scan/scantest"
)

var idRE = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)

// TestRegistryMeta fails on incomplete metadata, so that docs/checks.md and
// SARIF rules never carry an empty field.
func TestRegistryMeta(t *testing.T) {
	all := Registry().All()
	if len(all) == 0 {
		t.Fatal("no checks registered")
	}
	for _, c := range all {
		if !idRE.MatchString(c.ID) {
			t.Errorf("%s: ID is not kebab-case", c.ID)
		}
		if c.Title == "" || c.Description == "" || c.Remediation == "" || len(c.References) == 0 {
			t.Errorf("%s: title, description, remediation and references are all required", c.ID)
		}
		if c.Severity < check.Info || c.Severity > check.Critical {
			t.Errorf("%s: severity %d out of range", c.ID, c.Severity)
		}
		if strings.HasSuffix(c.Remediation, " ") || !strings.HasSuffix(c.Description, ".") {
			t.Errorf("%s: description must be sentences ending with a period", c.ID)
		}
	}
}

// TestTestdataComplete fails when a check has no pass or fail data, or data
// names no check.
func TestTestdataComplete(t *testing.T) {
	for _, c := range Registry().All() {
		if c.Target == check.Images {
			// Image checks are tested on images built by their tests.
			continue
		}
		for _, kind := range []string{"pass", "fail"} {
			if len(dataFiles(c.ID, kind)) == 0 {
				t.Errorf("%s: no testdata/%s/%s/*.yaml", c.ID, c.ID, kind)
			}
		}
	}
	dirs, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if d.IsDir() && Registry().Get(d.Name()) == nil {
			t.Errorf("testdata/%s: no check with that ID", d.Name())
		}
	}
}

var wantRE = regexp.MustCompile(`#\s*want\s+((?:"(?:[^"\\]|\\.)*"\s*)+)$`)
var quotedRE = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

type want struct {
	line int
	text string
	hit  bool
}

// readWants collects `# want "message part"` markers; each marks a finding
// expected on its own line whose message contains the text. In a
// Dockerfile, where a trailing comment would be part of the instruction, a
// comment line `# want "..."` marks the next instruction's line.
func readWants(t *testing.T, file string) []*want {
	dockerfileData := !strings.HasSuffix(file, ".yaml")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []*want
	lines := strings.Split(string(data), "\n")
	for i, line := range lines {
		m := wantRE.FindStringSubmatch(line)
		if m == nil {
			if strings.Contains(line, "# want") {
				t.Errorf("%s:%d: malformed want marker", file, i+1)
			}
			continue
		}
		target := i + 1
		if dockerfileData {
			for target < len(lines) && (strings.TrimSpace(lines[target]) == "" || strings.HasPrefix(strings.TrimSpace(lines[target]), "#")) {
				target++
			}
			target++
		}
		for _, q := range quotedRE.FindAllString(m[1], -1) {
			s, err := strconv.Unquote(q)
			if err != nil {
				t.Errorf("%s:%d: bad want %s: %v", file, i+1, q, err)
			}
			out = append(out, &want{line: target, text: s})
		}
	}
	return out
}

// scanFile scans one testdata file with every check; a .kubeharden.yaml in
// the same directory sets parameters for the data there.
func scanFile(t *testing.T, file string) *scan.Result {
	t.Helper()
	cfg := config.Default()
	if p := filepath.Join(filepath.Dir(file), config.FileName); fileExists(p) {
		var err error
		cfg, err = config.Load(p, func(id string) bool { return Registry().Get(id) != nil })
		if err != nil {
			t.Fatal(err)
		}
	}
	res := scantest.Paths([]string{file}, scan.Options{
		Registry: Registry(), Policy: policy.New(cfg, Registry(), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
	})
	for _, e := range res.Errors {
		t.Errorf("input error in test data: %v", e)
	}
	return res
}

// scanClusterFile runs the cluster checks on the cluster a testdata file
// describes: the API server's /version answer, as YAML (gitVersion), and
// what the inspection of a live cluster found (live, in the form of
// clustercheck.Live), on the day the other testdata are judged.
func scanClusterFile(t *testing.T, file string) *scan.Result {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		GitVersion string             `yaml:"gitVersion"`
		Live       *clustercheck.Live `yaml:"live"`
		// The rest of the /version answer; a misspelt field of live
		// fails the test.
		Version map[string]any `yaml:",inline"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&info); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	v, err := k8sversion.Parse(info.GitVersion)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	pol := policy.New(config.Default(), Registry(), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	return scan.RunCluster(clustercheck.Target{Version: v, Live: info.Live}, scan.Options{Registry: Registry(), Policy: pol})
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// dataFiles lists the test inputs of a check's pass or fail directory
// (manifests, or Dockerfiles for Dockerfile checks); the .kubeharden.yaml
// beside them is configuration, not data.
func dataFiles(id, kind string) []string {
	pattern := "*.yaml"
	if c := Registry().Get(id); c != nil && c.Target == check.Dockerfiles {
		pattern = "*"
	}
	files, _ := filepath.Glob(filepath.Join("testdata", id, kind, pattern))
	out := files[:0]
	for _, f := range files {
		if !strings.HasPrefix(filepath.Base(f), ".") {
			out = append(out, f)
		}
	}
	return out
}

// TestChecks runs every check on its testdata: each finding in fail/ must be
// announced by a want marker on its line, each marker must be met, and
// pass/ must yield no finding of the check.
func TestChecks(t *testing.T) {
	for _, c := range Registry().All() {
		t.Run(c.ID, func(t *testing.T) {
			scanFile := scanFile
			if c.Target == check.Cluster {
				scanFile = scanClusterFile
			}
			for _, f := range dataFiles(c.ID, "fail") {
				res := scanFile(t, f)
				wants := readWants(t, f)
				if len(wants) == 0 {
					t.Errorf("%s: no want markers", f)
				}
				for _, got := range res.Findings {
					if got.Check != c.ID {
						continue
					}
					matched := false
					for _, w := range wants {
						// Cluster findings have no line: the marker's line
						// does not matter.
						if !w.hit && (w.line == got.Location.Line || c.Target == check.Cluster) && strings.Contains(got.Message, w.text) {
							w.hit, matched = true, true
							break
						}
					}
					if !matched {
						t.Errorf("%s:%d: unexpected finding: %s", f, got.Location.Line, got.Message)
					}
				}
				for _, w := range wants {
					if !w.hit {
						t.Errorf("%s:%d: no finding matching %q", f, w.line, w.text)
					}
				}
			}
			for _, f := range dataFiles(c.ID, "pass") {
				for _, got := range scanFile(t, f).Findings {
					if got.Check == c.ID {
						t.Errorf("%s:%d: unexpected finding: %s", f, got.Location.Line, got.Message)
					}
				}
			}
		})
	}
}

// scanManifestFor scans manifest with the given .kubeharden.yaml content
// and returns the messages of one check's findings, in order. The testdata
// harness can set parameters only for pass/ data, so tables over parameters
// use this instead.
func scanManifestFor(t *testing.T, id, cfgText, manifest string) []string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "manifest.yaml")
	if err := os.WriteFile(file, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	known := func(id string) bool { return Registry().Get(id) != nil }
	cfg, err := config.Parse(config.FileName, []byte(cfgText), known)
	if err != nil {
		t.Fatal(err)
	}
	res := scantest.Paths([]string{file}, scan.Options{Registry: Registry(), Policy: policy.New(cfg, Registry(), time.Time{})})
	if len(res.Errors) > 0 {
		t.Fatalf("input errors: %v", res.Errors)
	}
	var got []string
	for _, f := range res.Findings {
		if f.Check == id {
			got = append(got, f.Message)
		}
	}
	return got
}
