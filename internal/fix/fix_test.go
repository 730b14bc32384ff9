package fix

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/checks"
	"github.com/kubeharden/kubeharden/internal/config"
	"github.com/kubeharden/kubeharden/internal/policy"
	"github.com/kubeharden/kubeharden/internal/scan"
	"github.com/kubeharden/kubeharden/internal/scan/scantest"
	"github.com/kubeharden/kubeharden/internal/source"
	"github.com/kubeharden/kubeharden/internal/yamledit"
)

var update = flag.Bool("update", false, "rewrite the golden out.yaml files")

// goldenOptions are the options of a testdata directory: a check's own
// directory fixes that check only, with digests and resources on so that
// their fixers run; the others fix every check with the default options,
// as `kubeharden fix` does without flags.
func goldenOptions(id string) Options {
	if slices.Contains(fixable(), id) {
		return Options{Checks: map[string]bool{id: true}, FixValues: check.FixValues{Resolve: testResolve, Resources: &DefaultResources}}
	}
	return Options{}
}

// fixable lists the object checks with a fix.
func fixable() []string {
	var ids []string
	for _, c := range checks.Registry().Objects() {
		if c.Fix != nil {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

// goldenDirs are the fix goldens: each fixable check's own
// (checks/testdata/<id>/fix, named by the check) and the whole-file ones
// here (testdata/<name>).
func goldenDirs(t *testing.T) map[string]string {
	t.Helper()
	dirs := map[string]string{}
	own, err := filepath.Glob("../checks/testdata/*/fix")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range own {
		dirs[filepath.Base(filepath.Dir(d))] = d
	}
	here, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range here {
		if d.IsDir() {
			dirs[d.Name()] = filepath.Join("testdata", d.Name())
		}
	}
	return dirs
}

// testResolve gives every image a digest derived from its reference, and
// fails for references containing "unknown".
func testResolve(ref string) (string, error) {
	if strings.Contains(ref, "unknown") {
		return "", fmt.Errorf("no digest for %s", ref)
	}
	return fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(ref))), nil
}

func TestGolden(t *testing.T) {
	seen := map[string]bool{}
	for name, dir := range goldenDirs(t) {
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join(dir, "in.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			opts := goldenOptions(name)
			out, applied, err := Manifest(in, opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(applied) == 0 {
				t.Fatal("nothing applied")
			}
			golden := filepath.Join(dir, "out.yaml")
			if *update {
				if err := os.WriteFile(golden, out, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, want) {
				t.Errorf("output differs from %s:\n%s", golden, out)
			}
			// Idempotent.
			again, applied2, err := Manifest(out, opts)
			if err != nil || !bytes.Equal(again, out) || len(applied2) != 0 {
				t.Errorf("second run changed the output (err %v, applied %v):\n%s", err, applied2, again)
			}
			// Re-scan: none of the fixed checks' findings remain.
			fixed := map[string]bool{}
			for _, a := range applied {
				fixed[a.Check] = true
			}
			for _, f := range scanBytes(t, out) {
				if fixed[f.Check] {
					t.Errorf("after fix: %s %s: %s", f.Check, f.Object, f.Message)
				}
			}
			checkUntouchedDocs(t, in, out, opts)
		})
	}
	for _, id := range fixable() {
		if !seen[id] {
			t.Errorf("no golden test for %s", id)
		}
	}
}

// checkUntouchedDocs verifies that every input document either appears
// byte for byte in the output or was changed by a fix.
func checkUntouchedDocs(t *testing.T, in, out []byte, opts Options) {
	t.Helper()
	din, _ := source.Split("", in)
	dout, _ := source.Split("", out)
	if len(din) != len(dout) {
		t.Fatalf("document count changed: %d -> %d", len(din), len(dout))
	}
	for i := range din {
		if bytes.Equal(din[i].Data, dout[i].Data) {
			continue
		}
		if _, app, _, _ := New(opts).document("", din[i]); len(app) == 0 {
			t.Errorf("document %d changed without a fix", i)
		}
		// Every comment of a changed document survives.
		if c := yamledit.LostComment(din[i].Data, dout[i].Data); c != "" {
			t.Errorf("document %d lost comment %q", i, c)
		}
	}
}

type finding struct{ Check, Object, Message string }

func scanBytes(t *testing.T, data []byte) []finding {
	t.Helper()
	p := filepath.Join(t.TempDir(), "out.yaml")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	res := scantest.Paths([]string{p}, scan.Options{Registry: checks.Registry()})
	if len(res.Errors) > 0 {
		t.Fatalf("scan of the output: %v", res.Errors)
	}
	var fs []finding
	for _, f := range res.Findings {
		obj := ""
		if f.Object != nil {
			obj = f.Object.Kind + "/" + f.Object.Name
		}
		fs = append(fs, finding{f.Check, obj, f.Message})
	}
	return fs
}

func TestSeed003OnlyNonFixableRemain(t *testing.T) {
	in, err := os.ReadFile("../../examples/insecure-app/deploy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := Manifest(in, Options{FixValues: check.FixValues{Resolve: testResolve, Resources: &DefaultResources}})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range scanBytes(t, out) {
		if slices.Contains(fixable(), f.Check) {
			t.Errorf("fixable finding remains: %s: %s", f.Check, f.Message)
		}
	}
	if !strings.Contains(string(out), "runAsUser: 50000") {
		t.Errorf("default UID not set:\n%s", out)
	}
}

func TestOptions(t *testing.T) {
	in := []byte("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: i:1\n")
	out, applied, err := Manifest(in, Options{Checks: map[string]bool{"run-as-high-uid": true, "run-as-high-gid": true}, FixValues: check.FixValues{UID: 60096, GID: 60097}})
	if err != nil {
		t.Fatal(err)
	}
	want := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  securityContext:\n    runAsUser: 60096\n    runAsGroup: 60097\n  containers:\n  - name: c\n    image: i:1\n"
	if string(out) != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
	if len(applied) != 2 || applied[0].Object != "Pod/p" {
		t.Errorf("applied = %+v", applied)
	}
}

func TestEdgeCases(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		err      bool
		same     bool
	}{
		{name: "broken", in: "apiVersion: v1\nkind: Pod\n---\nspec: [ {a\n", err: true},
		{name: "not an object", in: "foo: bar\n", same: true},
		{name: "empty", in: "", same: true},
		{name: "comments only", in: "# nothing\n---\n# here\n", same: true},
		{name: "secure already", in: "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n", same: true},
		{name: "alias container", in: "apiVersion: v1\nkind: List\nitems:\n- &p\n  apiVersion: v1\n  kind: Pod\n  metadata: {name: a}\n  spec:\n    containers: [{name: c, image: i}]\n- *p\n"},
		{name: "no trailing newline, crlf", in: "---\r\napiVersion: v1\r\nkind: Pod\r\nmetadata:\r\n  name: p\r\nspec:\r\n  containers:\r\n  - name: c\r\n    image: i"},
		{name: "scalar security context", in: "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  securityContext: 3\n  containers:\n  - name: c\n    image: i\n    securityContext: [1]\n"},
		{name: "merge key", in: "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nx: &sc {runAsUser: 5}\nspec:\n  securityContext:\n    <<: *sc\n  containers:\n  - name: c\n    image: i\n    securityContext: *sc\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := Manifest([]byte(tc.in), Options{})
			if tc.err {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.same && string(out) != tc.in {
				t.Errorf("changed:\n%s", out)
			}
			again, applied, err := Manifest(out, Options{})
			if err != nil || !bytes.Equal(again, out) || len(applied) > 0 {
				t.Errorf("not idempotent (err %v, applied %v):\n%s\n---- second:\n%s", err, applied, out, again)
			}
			if strings.Contains(tc.in, "\r\n") && strings.Count(string(out), "\n") != strings.Count(string(out), "\r\n") {
				t.Errorf("line ends changed:\n%q", out)
			}
		})
	}
}

func TestWriteFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "a.yaml")
	if err := os.WriteFile(p, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("new")); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	info, _ := os.Stat(p)
	if string(b) != "new" || info.Mode().Perm() != 0o600 {
		t.Errorf("got %q mode %v", b, info.Mode())
	}
	entries, _ := os.ReadDir(filepath.Dir(p))
	if len(entries) != 1 {
		t.Errorf("temporary file left behind: %v", entries)
	}
}

func FuzzManifest(f *testing.F) {
	dirs, _ := os.ReadDir("testdata")
	for _, d := range dirs {
		if b, err := os.ReadFile(filepath.Join("testdata", d.Name(), "in.yaml")); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("apiVersion: v1\nkind: Pod\nspec: {containers: [{name: a, securityContext: {capabilities: {drop: x}}}]}\n"))
	f.Add([]byte("apiVersion: v1\nkind: Pod\nspec: {containers: [{name: a}]} # keep\n# foot\n"))
	f.Add([]byte(`{"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"name": "a"}]}}` + "\n\n" + `{"kind": "Pod", "apiVersion": "v1",` + "\n" + `  "spec": {"containers": []}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		opts := Options{FixValues: check.FixValues{Resolve: testResolve, Resources: &DefaultResources}}
		out, _, err := Manifest(data, opts)
		if err != nil {
			return
		}
		if _, errs := source.Split("", out); len(errs) > 0 {
			t.Fatalf("output does not split: %v", errs)
		}
		// JSON stays JSON.
		if json.Valid(data) && !json.Valid(out) {
			t.Fatalf("JSON became something else:\n%s", out)
		}
		again, applied, err := Manifest(out, opts)
		if err != nil {
			t.Fatalf("output does not parse: %v\n%s", err, out)
		}
		if !bytes.Equal(again, out) {
			t.Fatalf("second run changed the output (%v):\n%s\n----\n%s", applied, out, again)
		}
	})
}

func TestSkippedAndExempt(t *testing.T) {
	in := []byte(`apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
  - name: c
    image: registry/unknown:1
    resources:
      requests:
        memory: lots
`)
	var skipped []Skipped
	opts := Options{
		Checks:    map[string]bool{"image-digest": true, "resources-limits": true, "run-as-high-uid": true},
		FixValues: check.FixValues{Resolve: testResolve, Resources: &DefaultResources},
		Skip:      func(s Skipped) { skipped = append(skipped, s) },
	}
	out, applied, err := Manifest(append([]byte("# leading\n---\n"), in...), opts)
	if err != nil {
		t.Fatal(err)
	}
	want := []Skipped{
		{Check: "image-digest", Object: "Pod/p", Line: 10, Reason: "no digest for registry/unknown:1"},
		{Check: "resources-limits", Object: "Pod/p", Line: 9, Reason: "cannot compare the default memory limit 256Mi with the request lots"},
	}
	if !slices.Equal(skipped, want) {
		t.Errorf("skipped = %+v\nwant %+v", skipped, want)
	}
	var got []string
	for _, a := range applied {
		got = append(got, a.Check+" "+a.Path)
	}
	if w := []string{"resources-limits spec.containers[0].resources.limits.cpu", "run-as-high-uid spec.securityContext.runAsUser"}; !slices.Equal(got, w) {
		t.Errorf("applied = %q, want %q\n%s", got, w, out)
	}

	// An exemption leaves the check alone on the objects it covers.
	cfg, err := config.Parse(".kubeharden.yaml", []byte("exemptions:\n- checks: [run-as-high-uid]\n  name: p\n  reason: legacy\n"), func(string) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	opts.Policy = policy.New(cfg, checks.Registry(), time.Time{})
	_, applied, _ = Manifest(in, opts)
	for _, a := range applied {
		if a.Check == "run-as-high-uid" {
			t.Errorf("exempted check fixed: %+v", a)
		}
	}
}

func TestIDRange(t *testing.T) {
	in := []byte("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  securityContext:\n    runAsUser: 20000\n    runAsGroup: 70000\n  containers:\n  - name: c\n    image: i\n")
	min, max := int64(25000), int64(60000)
	cfg := &config.Config{Parameters: config.Parameters{MinUID: &min, MaxGID: &max}}
	opts := Options{Policy: policy.New(cfg, checks.Registry(), time.Time{}), Checks: map[string]bool{"run-as-high-uid": true, "run-as-high-gid": true}, FixValues: check.FixValues{UID: 30000, GID: 30000}}
	out, _, err := Manifest(in, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "runAsUser: 30000\n    runAsGroup: 30000\n") {
		t.Errorf("IDs outside the configured range kept:\n%s", out)
	}
}

// TestParallelDocuments: a file large enough to be fixed on every core
// gives the output, fixes and skipped findings of fixing each document in
// turn, in file order.
func TestParallelDocuments(t *testing.T) {
	var b strings.Builder
	for i := range parallelDocs * 3 {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p%d\nspec:\n  containers:\n  - name: c\n    image: registry/unknown-%d:1\n", i, i)
	}
	in := []byte(b.String())
	var skipped []string
	opts := Options{Skip: func(s Skipped) { skipped = append(skipped, s.Object) }, FixValues: check.FixValues{Resolve: testResolve}}
	out, applied, err := Manifest(in, opts)
	if err != nil {
		t.Fatal(err)
	}
	docs, _ := source.Split("", in)
	var want bytes.Buffer
	var wantApplied []Applied
	var wantSkipped []string
	for _, d := range docs {
		o, a, s, err := New(opts).document("", d)
		if err != nil {
			t.Fatal(err)
		}
		want.Write(o)
		wantApplied = append(wantApplied, a...)
		for _, x := range s {
			wantSkipped = append(wantSkipped, x.Object)
		}
	}
	if !bytes.Equal(out, want.Bytes()) || !slices.Equal(applied, wantApplied) || !slices.Equal(skipped, wantSkipped) {
		t.Errorf("parallel fix differs from the sequential one (%d/%d fixes, %d/%d skipped)", len(applied), len(wantApplied), len(skipped), len(wantSkipped))
	}
	if len(skipped) != parallelDocs*3 || skipped[0] != "Pod/p0" {
		t.Errorf("skipped = %v", skipped[:min(3, len(skipped))])
	}
}
