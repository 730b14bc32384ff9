package admissionpolicy

import (
	"regexp"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/internal/imageref"
)

// FuzzImageGrammar: below the path length limit, the grammar the image
// policies match references with accepts exactly what imageref.Parse
// accepts. (TestEquivalence checks the policies themselves, on an API
// server.)
func FuzzImageGrammar(f *testing.F) {
	hex := strings.Repeat("ab", 32)
	for _, s := range []string{
		"busybox", "busybox:1.36", "host:5000/img", "[::1]:5000/a:b", "a_b/c__d--e.f", "Busybox", "a:b:c", "app:-x",
		"app@sha256:" + hex, "app@sha384:" + hex + hex[:32], "app@md5:" + hex, "app@sha256:" + strings.ToUpper(hex),
		"app@sha256:" + hex[:32], "a.b-c:1/d", "-a.b/c", "a-.b/c", "localhost:5000", "x:" + strings.Repeat("v", 128),
	} {
		f.Add(s)
	}
	re := regexp.MustCompile(refFull)
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > refMaxPath {
			return
		}
		_, err := imageref.Parse(s)
		if got := re.MatchString(s); got != (err == nil) {
			t.Errorf("%q: grammar matches %v, imageref.Parse: %v", s, got, err)
		}
	})
}
