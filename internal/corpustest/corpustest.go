// Package corpustest finds the shared real-world corpus (../shared/corpus
// next to the checkout) for tests that run over it. It is read in place,
// never copied into the repository.
package corpustest

import (
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

func isDir(p string) bool {
	info, err := os.Stat(p)
	return err == nil && info.IsDir()
}
