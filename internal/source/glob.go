package source

import (
	"fmt"
	"path/filepath"
	"strings"
)

// MatchGlob matches a slash-separated path against a glob where `*` does
// not cross `/` and `**` matches any number of path segments. A malformed
// glob (see ValidGlob) matches nothing.
//
// It runs in time polynomial in the glob and the path whatever they hold:
// an attacker writes the paths, and a backtracking matcher takes
// exponential time on a glob of many `**` that almost matches.
func MatchGlob(glob, p string) bool {
	ok, _ := matchGlob(glob, p, false)
	return ok
}

// matchGlob is MatchGlob; anywhere lets the glob match any suffix of the
// path that starts at a directory boundary. steps counts segment
// comparisons, for the tests that bound them.
func matchGlob(glob, p string, anywhere bool) (ok bool, steps int) {
	glob = strings.TrimPrefix(filepath.ToSlash(glob), "./")
	p = strings.TrimPrefix(p, "./")
	g := strings.Split(glob, "/")
	if anywhere {
		g = append([]string{"**"}, g...)
	}
	return matchSegments(g, strings.Split(p, "/"))
}

// ValidGlob returns an error when a glob is malformed (an unclosed `[`, a
// trailing `\`): such a glob would never match, silently.
func ValidGlob(glob string) error {
	for _, seg := range strings.Split(filepath.ToSlash(glob), "/") {
		if seg == "**" {
			continue
		}
		// filepath.Match checks the whole pattern even when it fails
		// to match early.
		if _, err := filepath.Match(seg, ""); err != nil {
			return fmt.Errorf("%q is not a valid glob: %w", glob, err)
		}
	}
	return nil
}

// matchSegments matches path segments p against glob segments g by
// dynamic programming over (glob segment, path segment) pairs: reach[j]
// tells whether the glob segments seen so far match p[:j]. Each pair is
// compared at most once, so the work is O(len(g) * len(p)) segment
// matches, each polynomial (filepath.Match does not backtrack across its
// stars).
func matchSegments(g, p []string) (ok bool, steps int) {
	reach := make([]bool, len(p)+1)
	next := make([]bool, len(p)+1)
	reach[0] = true
	for i, seg := range g {
		if seg == "**" && i > 0 && g[i-1] == "**" {
			continue // a run of ** means what one does
		}
		clear(next)
		live := false
		for j := range reach {
			steps++
			if seg == "**" {
				// ** consumes any number of segments: p[:j] is reached
				// when any shorter prefix was.
				live = live || reach[j]
				next[j] = live
				continue
			}
			if !reach[j] || j == len(p) {
				continue
			}
			if m, err := filepath.Match(seg, p[j]); err == nil && m {
				next[j+1], live = true, true
			}
		}
		if !live {
			return false, steps
		}
		reach, next = next, reach
	}
	return reach[len(p)], steps
}
