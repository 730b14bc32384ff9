package dockerfix

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/config"
	"github.com/kubeharden/kubeharden/internal/corpustest"
	"github.com/kubeharden/kubeharden/internal/policy"
	"github.com/kubeharden/kubeharden/internal/scan/scantest"

	"github.com/kubeharden/kubeharden/internal/checks"
	"github.com/kubeharden/kubeharden/internal/dockerfile"
	"github.com/kubeharden/kubeharden/internal/fix"
	"github.com/kubeharden/kubeharden/internal/scan"
)

var update = flag.Bool("update", false, "rewrite the golden after and fixes files")

// seedDigest is the digest seed 003 pins python:3.9-alpine3.15 to.
const seedDigest = "sha256:f2aeefbeb3846b146a8ad9b995af469d249272af804b309318e2c72c9ca035b0"

// testResolve gives python:3.9-alpine3.15 seed 003's digest, fails for
// references containing "unknown", and gives every other reference a
// digest derived from it.
func testResolve(ref string) (string, error) {
	switch {
	case ref == "python:3.9-alpine3.15":
		return seedDigest, nil
	case strings.Contains(ref, "unknown"):
		return "", fmt.Errorf("no digest for %s: manifest unknown", ref)
	}
	return fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(ref))), nil
}

// caseOptions reads a golden case's options file, if any: lines of
// checks=<id>,<id>, uid=<n>, gid=<n>, minuid=<n>, resolve=off.
func caseOptions(t *testing.T, dir string) fix.Options {
	t.Helper()
	opts := fix.Options{FixValues: check.FixValues{Resolve: testResolve}}
	data, err := os.ReadFile(filepath.Join(dir, "options"))
	if errors.Is(err, fs.ErrNotExist) {
		return opts
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		k, v, _ := strings.Cut(l, "=")
		n, _ := strconv.ParseInt(v, 10, 64)
		switch k {
		case "checks":
			opts.Checks = map[string]bool{}
			for _, id := range strings.Split(v, ",") {
				opts.Checks[id] = true
			}
		case "uid":
			opts.UID = n
		case "gid":
			opts.GID = n
		case "minuid":
			cfg := &config.Config{Parameters: config.Parameters{MinUID: &n}}
			opts.Policy = policy.New(cfg, checks.Registry(), time.Time{})
		case "resolve":
			opts.Resolve = nil
		default:
			t.Fatalf("%s/options: unknown option %q", dir, l)
		}
	}
	return opts
}

// report writes the fixes of a run, one a line, for the fixes golden.
func report(applied []fix.Applied, skipped []fix.Skipped) []byte {
	var b bytes.Buffer
	for _, a := range applied {
		risky := ""
		if a.Risky {
			risky = " (risky)"
		}
		fmt.Fprintf(&b, "applied %s %s%s\n", a.Check, a.Path, risky)
	}
	for _, s := range skipped {
		fmt.Fprintf(&b, "skipped %s %s line %d: %s\n", s.Check, s.Object, s.Line, s.Reason)
	}
	return b.Bytes()
}

// TestGolden fixes testdata/<case>/before and compares the result with
// after, and the fixes with fixes, byte for byte (-update rewrites them),
// then checks the properties every fix must have (see checkFixed).
func TestGolden(t *testing.T) {
	dirs, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if !d.IsDir() || d.Name() == "fuzz" {
			continue
		}
		t.Run(d.Name(), func(t *testing.T) {
			dir := filepath.Join("testdata", d.Name())
			before, err := os.ReadFile(filepath.Join(dir, "before"))
			if err != nil {
				t.Fatal(err)
			}
			opts := caseOptions(t, dir)
			out, applied, skipped, err := Dockerfile("Dockerfile", before, opts)
			if err != nil {
				t.Fatal(err)
			}
			fixes := report(applied, skipped)
			for name, got := range map[string][]byte{"after": out, "fixes": fixes} {
				golden := filepath.Join(dir, name)
				if *update {
					if err := os.WriteFile(golden, got, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s differs from %s:\n%s", name, golden, got)
				}
			}
			checkFixed(t, before, out, applied, skipped, opts)
		})
	}
}

// checkFixed checks what every fix must guarantee: a second run changes
// nothing; the output parses with the same errors; a scan of it shows
// none of the fixed findings; only the lines of fixed instructions differ
// (every other line keeps its bytes, its terminator included), and a
// file without a final newline still has none.
func checkFixed(t *testing.T, before, out []byte, applied []fix.Applied, skipped []fix.Skipped, opts fix.Options) {
	t.Helper()
	for _, s := range skipped {
		if strings.Contains(s.Reason, "did not verify") {
			t.Errorf("line %d: %s: %s", s.Line, s.Check, s.Reason)
		}
	}
	if len(applied) == 0 && !bytes.Equal(out, before) {
		t.Errorf("nothing applied, but the output differs")
	}
	again, applied2, _, err := Dockerfile("Dockerfile", out, opts)
	if err != nil || !bytes.Equal(again, out) || len(applied2) != 0 {
		t.Errorf("second run: err %v, fixes %v, output changed %t", err, applied2, !bytes.Equal(again, out))
	}
	_, errs := dockerfile.Parse("Dockerfile", before, dockerfile.Options{})
	f2, errs2 := dockerfile.Parse("Dockerfile", out, dockerfile.Options{})
	if f2 == nil || !slices.Equal(messages(errs), messages(errs2)) {
		t.Errorf("output parse: %v, errors %v (input: %v)", f2 != nil, errs2, errs)
	}
	// A real scan, suppressions and all, with the parameters of opts.
	path := filepath.Join(t.TempDir(), "Dockerfile")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	res := scantest.Paths([]string{path}, scan.Options{Registry: checks.Registry()})
	left := map[string]bool{}
	for _, f := range res.Findings {
		left[f.Check] = true
		left[f.Check+" "+f.Path] = true
	}
	for _, a := range applied {
		if left[a.Check+" "+a.Path] || (a.Check == idUser || a.Check == idHighUID) && (left[idUser] || left[idHighUID]) {
			t.Errorf("the scan of the output still reports %s at %s", a.Check, a.Path)
		}
	}
	if len(res.Errors) > 0 && len(errs) == 0 {
		t.Errorf("the scan of the output has errors: %v", res.Errors)
	}
	checkDiff(t, before, out, applied)
}

// checkDiff checks that the lines of before that out does not keep, and
// the lines out adds, are instructions a fix edits: FROM for digests, RUN
// and USER for users, CMD and ENTRYPOINT for the exec form.
func checkDiff(t *testing.T, before, out []byte, applied []fix.Applied) {
	t.Helper()
	a, b := splitLines(before), splitLines(out)
	if n, m := len(a), len(b); n > 0 && m > 0 && strings.HasSuffix(a[n-1].eol, "\n") != strings.HasSuffix(b[m-1].eol, "\n") {
		t.Errorf("the final newline changed")
	}
	// Compare whole lines, terminators included, but the last line's,
	// which gets one when lines are appended after it.
	keep := lcs(len(a), len(b), func(i, j int) bool {
		return a[i].text == b[j].text && (a[i].eol == b[j].eol || i == len(a)-1)
	})
	kw := map[string]bool{}
	for _, ap := range applied {
		switch ap.Check {
		case idDigest:
			kw["FROM"] = true
		case idUser, idHighUID:
			kw["USER"], kw["RUN"] = true, true
		case idExecForm:
			kw["CMD"], kw["ENTRYPOINT"] = true, true
		}
	}
	inEdited := func(data []byte) map[int]bool {
		f, _ := dockerfile.Parse("Dockerfile", data, dockerfile.Options{})
		lines := map[int]bool{}
		if f == nil {
			return lines
		}
		for _, s := range f.Stages {
			for _, ins := range append([]*dockerfile.Instruction{s.From}, s.Instructions...) {
				if kw[strings.ToUpper(ins.Cmd)] {
					for l := ins.Line; l <= ins.EndLine; l++ {
						lines[l] = true
					}
				}
			}
		}
		return lines
	}
	editedBefore, editedAfter := inEdited(before), inEdited(out)
	kept := map[int]bool{}
	added := map[int]bool{}
	for _, p := range keep {
		kept[p[0]] = true
		added[p[1]] = true
	}
	for i := range a {
		if !kept[i] && !editedBefore[i+1] {
			t.Errorf("line %d changed, but it is no instruction a fix edits: %q", i+1, a[i].text)
		}
	}
	for j := range b {
		if !added[j] && !editedAfter[j+1] {
			t.Errorf("output line %d is new, but it is no instruction a fix edits: %q", j+1, b[j].text)
		}
	}
}

// lcs returns the index pairs of a longest common subsequence.
func lcs(n, m int, eq func(i, j int) bool) [][2]int {
	dp := make([][]int, n+1)
	for i := range dp {
		dp[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if eq(i, j) {
				dp[i][j] = dp[i+1][j+1] + 1
			} else {
				dp[i][j] = max(dp[i+1][j], dp[i][j+1])
			}
		}
	}
	var out [][2]int
	for i, j := 0, 0; i < n && j < m; {
		switch {
		case eq(i, j):
			out = append(out, [2]int{i, j})
			i++
			j++
		case dp[i+1][j] >= dp[i][j+1]:
			i++
		default:
			j++
		}
	}
	return out
}

// TestCorpus fixes every real-world Dockerfile of the corpus, with a
// resolver that knows every image, and checks the properties of
// checkFixed for each.
func TestCorpus(t *testing.T) {
	// The real-world Dockerfiles of the shared corpus (see its SOURCES.md).
	corpusDir, paths := corpustest.Files(t, "dockerfiles", func(name string) bool {
		return strings.Contains(strings.ToLower(name), "dockerfile")
	})
	opts := fix.Options{FixValues: check.FixValues{Resolve: func(ref string) (string, error) {
		return "sha256:" + strings.Repeat("ab", 32), nil
	}}}
	total, risky := 0, 0
	for _, p := range paths {
		rel, _ := filepath.Rel(corpusDir, p)
		t.Run(rel, func(t *testing.T) {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			out, applied, skipped, err := Dockerfile(p, data, opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range applied {
				total++
				if a.Risky {
					risky++
				}
			}
			t.Logf("%s%s", report(applied, skipped), fix.UnifiedDiff("a/"+rel, "b/"+rel, string(data), string(out)))
			checkFixed(t, data, out, applied, skipped, opts)
		})
	}
	t.Logf("%d files, %d fixes (%d risky)", len(paths), total, risky)
}
