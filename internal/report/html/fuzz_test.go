package html

import (
	"slices"
	"testing"

	xhtml "golang.org/x/net/html"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/scan"
)

// FuzzRender renders findings whose every string comes from the scanned
// files (names, namespaces, messages, paths, check IDs of a foreign
// report) and parses the page as a browser would: whatever the strings,
// the page holds only its own script and style, loads nothing, lists each
// finding once with a severity word, and its ids are unique.
func FuzzRender(f *testing.F) {
	f.Add("web", "shop", `container "api" must set securityContext.runAsNonRoot=true`, "deploy/web.yaml", "run-as-non-root", 3, 12)
	f.Add(`"><script>alert(1)</script>`, `</style><img src=x onerror=alert(1)>`, "<iframe src=//evil>", "javascript:alert(1)", `" onmouseover="x`, 42, 0)
	f.Add("", "", "", "", "", -1, -5)
	f.Add("a\x00b", "ns-\u202e", "</script><script>", "Deployment//x", "c]]>", 4, 1)
	f.Fuzz(func(t *testing.T, name, ns, msg, file, id string, sev, line int) {
		obj := &check.ObjectRef{APIVersion: "apps/v1", Kind: "Deployment", Name: name, Namespace: ns}
		res := &scan.Result{
			Findings: []check.Finding{
				{Check: id, Severity: check.Severity(sev), Object: obj, Message: msg, Path: msg, Location: check.Location{File: file, Line: line}},
				{Check: id, Severity: check.Severity(sev), Message: msg, Location: check.Location{File: file + name}},
				{Check: "x", Severity: check.High, Object: &check.ObjectRef{Kind: name, Name: ns}, Message: name, Location: check.Location{File: obj.Kind + "/" + ns + "/" + name}},
			},
			Suppressed:       []check.Finding{{Check: id, Message: msg, Location: check.Location{File: file}, Extra: &check.Extra{Suppression: &check.Suppression{Kind: "annotation", Reason: msg, Source: name}}}},
			Objects:          2,
			NamespaceObjects: map[string]int{ns: 1, name: 1},
			Checks:           []check.Meta{{ID: id, Title: name, Remediation: msg, References: []string{ns}, Description: msg}},
		}
		page := render(t, res, Options{Version: name})
		doc := parse(t, page)
		for _, el := range []string{"script", "style"} {
			if n := len(all(doc, tag(el))); n != 1 {
				t.Fatalf("%d <%s> elements, want 1", n, el)
			}
		}
		if n := len(all(doc, tag("meta"))); n != 3 {
			t.Fatalf("%d <meta> elements, want 3", n)
		}
		for _, n := range all(doc, func(n *xhtml.Node) bool { return n.Type == xhtml.ElementNode }) {
			switch n.Data {
			case "img", "iframe", "object", "embed", "link", "base", "frame", "form":
				if n.Data != "form" || attr(n, "id") != "filters" {
					t.Fatalf("a <%s> element reached the page", n.Data)
				}
			}
			for _, a := range n.Attr {
				if (a.Key == "href" && (len(a.Val) == 0 || a.Val[0] != '#')) || a.Key == "src" || (len(a.Key) > 2 && a.Key[:2] == "on") {
					t.Fatalf("<%s %s=%q> reached the page", n.Data, a.Key, a.Val)
				}
			}
		}
		rows := all(doc, func(n *xhtml.Node) bool { return hasClass(n, "finding") })
		if len(rows) != len(res.Findings) {
			t.Fatalf("%d findings listed, want %d", len(rows), len(res.Findings))
		}
		for _, r := range rows {
			if !slices.Contains(check.Severities(), attr(r, "data-sev")) {
				t.Fatalf("row severity %q is not a severity", attr(r, "data-sev"))
			}
		}
		ids := map[string]bool{}
		for _, n := range all(doc, func(n *xhtml.Node) bool { return attr(n, "id") != "" }) {
			if ids[attr(n, "id")] {
				t.Fatalf("duplicate id %q", attr(n, "id"))
			}
			ids[attr(n, "id")] = true
		}
	})
}
