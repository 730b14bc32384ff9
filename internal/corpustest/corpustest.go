// Package corpustest finds the shared real-world corpus (../shared/corpus
// next to the checkout) for tests that run over it. It is read in place,
// never copied into the repository.
package corpustest

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// Env names the corpus directory when set; `make test` sets it to its
// CORPUS (../shared/corpus by default).
const Env = "KUBEHARDEN_CORPUS"

// Dir returns the corpus subdirectory sub ("real", "dockerfiles"): under
// $KUBEHARDEN_CORPUS, else under shared/corpus next to the checkout or any
// directory above it. A missing corpus fails the test: it is a dependency,
// and a skipped test would hide it.
func Dir(t testing.TB, sub string) string {
	t.Helper()
	var tried []string
	if env := os.Getenv(Env); env != "" {
		p := filepath.Join(env, sub)
		if isDir(p) {
			return p
		}
		t.Fatalf("%s=%s has no %s directory", Env, env, sub)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		p := filepath.Join(d, "shared", "corpus", sub)
		tried = append(tried, p)
		if isDir(p) {
			return p
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	t.Fatalf("the shared corpus is missing: set %s, or put it at ../shared/corpus next to the checkout (tried %v)", Env, tried)
	return ""
}

// Files returns the files below the corpus subdirectory sub whose name
// keep accepts, in walk order, with that directory; none is a failure.
func Files(t testing.TB, sub string, keep func(name string) bool) (dir string, paths []string) {
	t.Helper()
	dir = Dir(t, sub)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && keep(d.Name()) {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil || len(paths) == 0 {
		t.Fatalf("the corpus %s is missing or empty (%v, %d files)", dir, err, len(paths))
	}
	return dir, paths
}

func isDir(p string) bool {
	info, err := os.Stat(p)
	return err == nil && info.IsDir()
}
