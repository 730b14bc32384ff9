package fix

import (
	"strings"
	"testing"
)

func TestUnifiedDiff(t *testing.T) {
	for _, tc := range []struct{ a, b, want string }{
		{"a\nb\n", "a\nb\n", ""},
		{"a\nb\nc\n", "a\nx\nc\n", "--- a\n+++ b\n@@ -1,3 +1,3 @@\n a\n-b\n+x\n c\n"},
		{"", "x\n", "--- a\n+++ b\n@@ -0,0 +1 @@\n+x\n"},
		{"x\n", "", "--- a\n+++ b\n@@ -1 +0,0 @@\n-x\n"},
		{"a", "b", "--- a\n+++ b\n@@ -1 +1 @@\n-a\n\\ No newline at end of file\n+b\n\\ No newline at end of file\n"},
		{
			"1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n",
			"0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n",
			"--- a\n+++ b\n@@ -1,3 +1,4 @@\n+0\n 1\n 2\n 3\n@@ -10,3 +11,4 @@\n 10\n 11\n 12\n+13\n",
		},
	} {
		if got := UnifiedDiff("a", "b", tc.a, tc.b); got != tc.want {
			t.Errorf("diff(%q, %q) =\n%s\nwant\n%s", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestMyersApplies(t *testing.T) {
	a := splitLines(strings.Repeat("a\nb\nc\n", 50))
	b := splitLines(strings.Repeat("a\nc\nd\n", 50))
	var ra, rb []string
	for _, o := range myers(a, b) {
		if o.kind != '+' {
			ra = append(ra, o.text)
		}
		if o.kind != '-' {
			rb = append(rb, o.text)
		}
	}
	if strings.Join(ra, "") != strings.Join(a, "") || strings.Join(rb, "") != strings.Join(b, "") {
		t.Error("edit script does not rebuild the texts")
	}
}
