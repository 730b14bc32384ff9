package vuln

import (
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/internal/check"
)

// TestVersionOrder: the edge cases each ecosystem's rules decide, compared
// through parserOf as matching compares them.
func TestVersionOrder(t *testing.T) {
	for _, tc := range []struct {
		eco  string
		a, b string
		want int
	}{
		// Debian: the epoch wins over everything, ~ sorts before the
		// empty string (pre-releases, backports), revisions compare last.
		{"Debian:12", "1:1.0-1", "2.0-1", 1},
		{"Debian:12", "1.0~rc1-1", "1.0-1", -1},
		{"Debian:12", "1.0~~-1", "1.0~-1", -1},
		{"Debian:12", "3.0.11-1~deb12u2", "3.0.11-1", -1},
		{"Debian:12", "3.0.11-1~deb12u2", "3.0.13-1~deb12u1", -1},
		{"Debian:12", "2.36-9+deb12u4", "2.36-9+deb12u10", -1},
		{"Debian:12", "1.2.3-1", "1.2.3-1", 0},
		{"Ubuntu:22.04:LTS", "1:9.18.18-0ubuntu0.22.04.2", "1:9.18.18-0ubuntu0.22.04.10", -1},
		// Alpine: _rc < release < _p, -rN revisions.
		{"Alpine:v3.19", "1.2.3_rc1-r0", "1.2.3-r0", -1},
		{"Alpine:v3.19", "1.2.3-r0", "1.2.3-r1", -1},
		{"Alpine:v3.19", "1.2.3-r10", "1.2.3-r9", 1},
		{"Alpine:v3.19", "1.2.3_p1-r0", "1.2.3-r5", 1},
		{"Alpine:v3.19", "3.1.4-r5", "3.1.4-r5", 0},
		{"Alpine:v3.19", "1.36.1-r15", "1.36.1-r19", -1},
		{"Alpine:v3.19", "1.2.4_git20230717-r4", "1.2.4_git20230717-r5", -1},
		{"Alpine:v3.19", "1.2.4_git20230717-r4", "1.2.4-r9", 1},
		{"Alpine:v3.19", "1.2.4_alpha1-r0", "1.2.4_beta1-r0", -1},
		{"Debian:12", "1:1.2.13.dfsg-1", "1:1.2.11.dfsg-4", 1},
		{"Debian:12", "2024a-0+deb12u1", "2024a-0+deb12u1~", 1},
		// RPM: epoch, then version, then release, rpmvercmp segments.
		{"Red Hat", "0:1.1.1k-7.el8_6", "1:1.0.0-1.el8", -1},
		{"Red Hat", "1.1.1k-7.el8_6", "1.1.1k-12.el8_9", -1},
		{"Red Hat", "3.0.7-25.el9_3", "3.0.7-27.el9", -1},
		{"Rocky Linux", "2.28-225.el9", "2.28-225.el9", 0},
		{"Fedora", "1.0~rc1-1.fc40", "1.0-1.fc40", -1},
		// Go: semantic versions, pseudo-versions before the tag they
		// precede, +incompatible, toolchain versions.
		{"Go", "v0.0.0-20230101000000-abcdefabcdef", "v0.0.1", -1},
		{"Go", "v1.2.4-0.20230101000000-abcdefabcdef", "v1.2.3", 1},
		{"Go", "v1.2.4-0.20230101000000-abcdefabcdef", "1.2.4", -1},
		{"Go", "v2.0.0+incompatible", "2.0.1", -1},
		{"Go", "go1.21.5", "1.21.6", -1},
		{"Go", "go1.22rc2", "1.22.0", -1},
		{"Go", "go1.22", "1.22.0", 0},
		// PEP 440: dev < alpha < beta < rc < final < post, local ignored.
		{"PyPI", "2.0.0rc1", "2.0.0", -1},
		{"PyPI", "2.0.0.dev1", "2.0.0a1", -1},
		{"PyPI", "2.0.0b2", "2.0.0rc1", -1},
		{"PyPI", "2.0.0.post1", "2.0.0", 1},
		{"PyPI", "1.0", "1.0.0", 0},
		{"PyPI", "1!0.5", "2.0", 1},
		// npm: semver pre-releases.
		{"npm", "4.17.20", "4.17.21", -1},
		{"npm", "5.0.0-beta.2", "5.0.0-beta.10", -1},
		{"npm", "5.0.0-rc.1", "5.0.0", -1},
		// Maven: qualifiers (alpha < beta < milestone < rc < snapshot <
		// release < sp), numeric segments numerically.
		{"Maven", "2.14.0-rc1", "2.14.0", -1},
		{"Maven", "2.9.10.8", "2.9.10.10", -1},
		{"Maven", "1.0-SNAPSHOT", "1.0", -1},
		{"Maven", "1.0.Final", "1.0", 0},
		{"Maven", "1.0-sp1", "1.0", 1},
	} {
		p, err := parserOf(tc.eco)
		if err != nil {
			t.Fatalf("%s: %v", tc.eco, err)
		}
		a, err := p(tc.a)
		if err != nil {
			t.Errorf("%s %q: %v", tc.eco, tc.a, err)
			continue
		}
		b, err := p(tc.b)
		if err != nil {
			t.Errorf("%s %q: %v", tc.eco, tc.b, err)
			continue
		}
		got := sign(a.compare(b))
		if got != tc.want {
			t.Errorf("%s: compare(%q, %q) = %d, want %d", tc.eco, tc.a, tc.b, got, tc.want)
		}
		if back := sign(b.compare(a)); back != -tc.want {
			t.Errorf("%s: compare(%q, %q) = %d, want %d", tc.eco, tc.b, tc.a, back, -tc.want)
		}
	}
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

// TestVersionInvalid: versions an ecosystem cannot read are errors (and
// then match nothing), never a guess.
func TestVersionInvalid(t *testing.T) {
	for _, tc := range []struct{ eco, v string }{
		{"Debian:12", "a:1.0"},
		{"Debian:12", ""},
		{"Go", "not-a-version"},
		{"PyPI", "1.0+"},
		{"npm", "x.y.z"},
		{"Red Hat", ""},
	} {
		p, _ := parserOf(tc.eco)
		if _, err := p(tc.v); err == nil {
			t.Errorf("%s %q: parsed, want an error", tc.eco, tc.v)
		}
	}
	if _, err := parserOf("crates.io"); err == nil {
		t.Error("crates.io: a comparison was returned, want errNoComparison")
	}
}

// TestInRange: the OSV range semantics, on the ecosystem that makes each
// case matter.
func TestInRange(t *testing.T) {
	deb, _ := parserOf("Debian:12")
	goP, _ := parserOf("Go")
	for _, tc := range []struct {
		name   string
		parse  parser
		events []Event
		v      string
		in     bool
		fix    string
	}{
		{"from zero, before fix", deb, []Event{{Introduced: "0"}, {Fixed: "1:2.0-1"}}, "1:1.9-3", true, "1:2.0-1"},
		{"at fix", deb, []Event{{Introduced: "0"}, {Fixed: "1:2.0-1"}}, "1:2.0-1", false, ""},
		{"epoch makes it newer", deb, []Event{{Introduced: "0"}, {Fixed: "2.0-1"}}, "1:1.0-1", false, ""},
		{"tilde backport before fix", deb, []Event{{Introduced: "0"}, {Fixed: "3.0.13-1~deb12u1"}}, "3.0.11-1~deb12u2", true, "3.0.13-1~deb12u1"},
		{"before introduced", goP, []Event{{Introduced: "1.2.0"}, {Fixed: "1.2.5"}}, "v1.1.9", false, ""},
		{"second branch", goP, []Event{{Introduced: "0"}, {Fixed: "1.1.4"}, {Introduced: "1.2.0"}, {Fixed: "1.2.5"}}, "v1.2.1", true, "1.2.5"},
		{"between branches", goP, []Event{{Introduced: "0"}, {Fixed: "1.1.4"}, {Introduced: "1.2.0"}, {Fixed: "1.2.5"}}, "v1.1.5", false, ""},
		{"pseudo-version before fix", goP, []Event{{Introduced: "0"}, {Fixed: "0.17.0"}}, "v0.0.0-20230101000000-abcdefabcdef", true, "0.17.0"},
		{"last affected, at it", goP, []Event{{Introduced: "0"}, {LastAffected: "1.4.0"}}, "v1.4.0", true, ""},
		{"last affected, past it", goP, []Event{{Introduced: "0"}, {LastAffected: "1.4.0"}}, "v1.4.1", false, ""},
		{"no fix yet", goP, []Event{{Introduced: "1.0.0"}}, "v3.0.0", true, ""},
	} {
		iv, err := tc.parse(tc.v)
		if err != nil {
			t.Fatal(err)
		}
		in, fix, ok := inRange(tc.events, tc.parse, iv)
		if !ok || in != tc.in || fix != tc.fix {
			t.Errorf("%s: inRange(%s) = %v, %q, %v; want %v, %q", tc.name, tc.v, in, fix, ok, tc.in, tc.fix)
		}
	}
	if _, _, ok := inRange([]Event{{Introduced: "0"}, {Fixed: "not:a:version"}}, deb, mustParse(t, deb, "1.0-1")); ok {
		t.Error("a range with an event that does not parse was used")
	}
}

func mustParse(t *testing.T, p parser, s string) version {
	t.Helper()
	v, err := p(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestRecordShapes: the free-form objects of real databases (a severity
// that is an object, an ecosystem_specific of lists) do not reject the
// record; a record whose schema fields have the wrong type does, naming
// the field.
func TestRecordShapes(t *testing.T) {
	r, err := ParseRecord([]byte(`{"id":"X-1","database_specific":{"severity":{"v":1},"cwe_ids":["CWE-1"]},
		"affected":[{"package":{"ecosystem":"Ubuntu:22.04:LTS","name":"a"},"ecosystem_specific":{"binaries":[{"a":"1"}],"severity":["x"],"urgency":"high"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := rate(r, &r.Affected[0]); got.Severity != check.High || !got.Known {
		t.Errorf("rating from the urgency: %+v", got)
	}
	if _, err := ParseRecord([]byte(`{"id":"X-2","affected":{"package":{}}}`)); err == nil || !strings.Contains(err.Error(), `field "affected"`) {
		t.Errorf("affected as an object: %v", err)
	}
}
