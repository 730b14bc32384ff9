package json

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/kubeharden/kubeharden/internal/check"
	khobject "github.com/kubeharden/kubeharden/internal/object"
)

var awkward = []string{
	"", "plain", `quote " and \ backslash`, "ctl \x00\x01\x1f\x7f \b\f\n\r\t", "<html> & more",
	"bad utf8 \xff\xfe end", "line sep \u2028 para \u2029", "émoji 🚀 ünïcode", "\xe2\x80", "tail \\",
}

func reference(t testing.TB, f *check.Finding, remediation string, fixable bool) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("    ", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(toJSON(f, remediation, fixable)); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func TestAppendFinding(t *testing.T) {
	for i, s := range awkward {
		fs := []check.Finding{
			{Check: s, Severity: check.Severity(i % 5), Message: s, Path: s, Location: check.Location{File: s, Line: i, Column: -i}},
			{Check: "c", Message: s, Object: &check.ObjectRef{Kind: s, Name: s, Namespace: s, APIVersion: s}},
			{Check: "c", Message: "m", Object: &check.ObjectRef{Kind: "k", Origin: s},
				Extra: &check.Extra{Suppression: &check.Suppression{Kind: s, Reason: s, Source: s}}},
			{Check: "c", Message: "m", Location: check.Location{File: s, Line: 3, Column: 1},
				Extra: &check.Extra{Trace: &khobject.Trace{Line: 3, Column: 1, Via: s, Rendered: i, ValueFile: s, ValueLine: i + 1}}},
			{Check: "c", Message: "m", Location: check.Location{File: s, Line: 3, Column: 1},
				Extra: &check.Extra{Trace: &khobject.Trace{Rendered: 3, Uncertain: s}}},
			{Check: "image-vulnerability", Message: s, Extra: &check.Extra{Vulnerability: &check.Vulnerability{ID: s, Aliases: []string{s, "CVE-2024-0727"}, Package: s, Ecosystem: s, PURL: s, Installed: s, Fixed: s, Score: float64(i%101) / 10},
				Suppression: &check.Suppression{Kind: "vex", Reason: s, Source: s}}},
			{Check: "image-vulnerability", Message: s, Extra: &check.Extra{Vulnerability: &check.Vulnerability{ID: s}}},
		}
		for _, f := range fs {
			fixable := i%2 == 0
			want := reference(t, &f, s, fixable)
			got := appendFinding(nil, &f, s, fixable)
			if !bytes.Equal(got, want) {
				t.Errorf("finding %q:\ngot  %s\nwant %s", s, got, want)
			}
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range awkward {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fd := &check.Finding{Check: s, Message: s, Object: &check.ObjectRef{Origin: s}}
		if got, want := appendFinding(nil, fd, s, len(s)%2 == 0), reference(t, fd, s, len(s)%2 == 0); !bytes.Equal(got, want) {
			t.Fatalf("got %s want %s", got, want)
		}
	})
}
