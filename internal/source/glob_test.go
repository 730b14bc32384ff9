package source

import (
	"path/filepath"
	"strings"
	"testing"
)

// refMatch is the obvious backtracking matcher: exponential on hostile
// globs, but plainly right, so small inputs check the real one against it.
func refMatch(g, p []string) bool {
	for len(g) > 0 {
		if g[0] == "**" {
			for i := 0; i <= len(p); i++ {
				if refMatch(g[1:], p[i:]) {
					return true
				}
			}
			return false
		}
		if len(p) == 0 {
			return false
		}
		if ok, err := filepath.Match(g[0], p[0]); err != nil || !ok {
			return false
		}
		g, p = g[1:], p[1:]
	}
	return len(p) == 0
}

// refExcluded is the --exclude rule spelled out: the whole path or any
// suffix starting at a directory boundary.
func refExcluded(g, p string) bool {
	gs := strings.Split(strings.TrimPrefix(g, "./"), "/")
	p = strings.TrimPrefix(p, "./")
	if refMatch(gs, strings.Split(p, "/")) {
		return true
	}
	for i := 0; i < len(p); i++ {
		if p[i] == '/' && refMatch(gs, strings.Split(p[i+1:], "/")) {
			return true
		}
	}
	return false
}

func TestMatchGlobCases(t *testing.T) {
	for _, c := range []struct {
		glob, path string
		want       bool
	}{
		{"**", "a/b/c", true},
		{"a/**", "a", true},
		{"a/**/c", "a/c", true},
		{"a/**/c", "a/b/x/c", true},
		{"a/**/c", "a/b/x/d", false},
		{"*.yaml", "a.yaml", true},
		{"*.yaml", "d/a.yaml", false},
		{"**/*.yaml", "d/e/a.yaml", true},
		{"./vendor/**", "vendor/x.yaml", true},
		{"[", "[", false},
		{"a/**/**/b", "a/b", true},
	} {
		if got := MatchGlob(c.glob, c.path); got != c.want {
			t.Errorf("MatchGlob(%q, %q) = %v, want %v", c.glob, c.path, got, c.want)
		}
	}
}

func TestValidGlob(t *testing.T) {
	for _, g := range []string{"**", "a/**/*.yaml", "[ab]*", `\*`} {
		if err := ValidGlob(g); err != nil {
			t.Errorf("ValidGlob(%q) = %v", g, err)
		}
	}
	for _, g := range []string{"[", "a/[/b", "x/[a-"} {
		if err := ValidGlob(g); err == nil {
			t.Errorf("ValidGlob(%q) accepted a malformed glob", g)
		}
	}
}

// TestMatchGlobSteps: the work is polynomial, whatever the glob holds. A
// glob of k `**` against n segments that almost matches took a
// backtracking matcher C(n, k) steps (8 `**`: 54 s); it must take at most
// one step per (glob segment, path segment) pair.
func TestMatchGlobSteps(t *testing.T) {
	for _, k := range []int{1, 4, 8, 16, 64} {
		for _, n := range []int{1, 10, 100, 1000} {
			glob := strings.Repeat("**/a/", k) + "b"
			path := strings.TrimSuffix(strings.Repeat("a/", n), "/") + "/c"
			for _, anywhere := range []bool{false, true} {
				ok, steps := matchGlob(glob, path, anywhere)
				if ok {
					t.Fatalf("%q matched %q", glob, path)
				}
				g, p := 2*k+2, n+2
				if steps > g*p {
					t.Errorf("k=%d n=%d: %d steps, more than %d glob × %d path segments", k, n, steps, g, p)
				}
			}
		}
	}
}

// FuzzMatchGlob compares the matcher with the backtracking reference on
// small globs and paths, for MatchGlob and for the --exclude rule.
func FuzzMatchGlob(f *testing.F) {
	for _, s := range [][2]string{
		{"**/a/**/b", "a/x/b"}, {"a/*/c", "a/b/c"}, {"**", ""}, {"*", "a/b"},
		{"a/**", "a/b/c"}, {"[a-c]/**/?", "b/x/y/z"}, {"**/**/x", "x"}, {"", ""},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, glob, path string) {
		// The reference is exponential: keep it small.
		if strings.Count(glob, "/") > 8 || strings.Count(path, "/") > 8 || len(glob) > 64 || len(path) > 64 {
			return
		}
		g := strings.Split(strings.TrimPrefix(filepath.ToSlash(glob), "./"), "/")
		if want, got := refMatch(g, strings.Split(strings.TrimPrefix(path, "./"), "/")), MatchGlob(glob, path); got != want {
			t.Fatalf("MatchGlob(%q, %q) = %v, reference %v", glob, path, got, want)
		}
		if want, got := refExcluded(filepath.ToSlash(glob), path), excluded(path, []string{glob}); filepath.ToSlash(filepath.Clean(path)) == path && got != want {
			t.Fatalf("excluded(%q, %q) = %v, reference %v", path, glob, got, want)
		}
	})
}
