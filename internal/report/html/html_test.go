package html

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	xhtml "golang.org/x/net/html"

	"github.com/kubeharden/kubeharden/internal/baseline"
	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/checks"
	"github.com/kubeharden/kubeharden/internal/image"
	"github.com/kubeharden/kubeharden/internal/report/reporttest"
	"github.com/kubeharden/kubeharden/internal/scan"
)

func TestScore(t *testing.T) {
	for _, c := range []struct {
		penalty, objects int
		value            int
		grade            string
	}{
		{0, 0, 100, "A"},
		{0, 10, 100, "A"},
		{1, 1000, 99, "A"}, // rounds to 100, but a finding weighs
		{10, 1, 0, "F"},
		{5, 1, 50, "F"},
		{20, 10, 80, "B"},
		{21, 10, 79, "C"},
		{30, 10, 70, "C"},
		{40, 10, 60, "D"},
		{100, 10, 0, "F"},
	} {
		s := score(c.penalty, c.objects)
		if s.Value != c.value || s.Grade != c.grade {
			t.Errorf("score(%d, %d) = %d %s, want %d %s", c.penalty, c.objects, s.Value, s.Grade, c.value, c.grade)
		}
	}
}

// TestPenaltyPerObject checks the documented formula on a result: an
// object's penalty is capped at 10 however many findings it has, and a
// namespace is scored over all its objects, clean ones included.
func TestPenaltyPerObject(t *testing.T) {
	a := &check.ObjectRef{Kind: "Deployment", Name: "a", Namespace: "shop"}
	b := &check.ObjectRef{Kind: "Deployment", Name: "b", Namespace: "shop"}
	c := &check.ObjectRef{Kind: "Deployment", Name: "c", Namespace: "web"}
	f := func(o *check.ObjectRef, sev check.Severity, line int) check.Finding {
		return check.Finding{Check: "x", Severity: sev, Object: o, Message: "m", Location: check.Location{File: "f.yaml", Line: line}}
	}
	res := &scan.Result{
		Findings: []check.Finding{
			f(a, check.Critical, 1), f(a, check.Critical, 2), f(a, check.High, 3), // 25, capped at 10
			f(b, check.Medium, 10), // 2
			f(c, check.Low, 20),    // 1
		},
		Objects:          8,
		NamespaceObjects: map[string]int{"shop": 4, "web": 4},
	}
	m := newModel(res, 0)
	if got := m.overall; got.Penalty != 13 || got.Objects != 8 || got.Value != 84 {
		t.Errorf("overall = %+v, want penalty 13 over 8 objects, 84", got)
	}
	rows := m.namespaces()
	if len(rows) != 2 || rows[0].Name != "shop" || rows[1].Name != "web" {
		t.Fatalf("namespaces = %+v, want shop (the worst) then web", rows)
	}
	if s := rows[0].Score; s.Value != 70 || s.Grade != "C" || s.Objects != 4 {
		t.Errorf("shop = %+v, want 70 C over 4 objects", s)
	}
	if s := rows[1].Score; s.Value != 98 || s.Grade != "A" {
		t.Errorf("web = %+v, want 98 A", s)
	}
	if got := rows[0].Counts; fmt.Sprint(got) != "[2 1 1 0 0]" {
		t.Errorf("shop counts, critical first = %v, want [2 1 1 0 0]", got)
	}
}

func render(t testing.TB, res *scan.Result, opts Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Render(&buf, res, opts); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// parse parses a page with a real HTML parser, as a browser would.
func parse(t testing.TB, page []byte) *xhtml.Node {
	t.Helper()
	doc, err := xhtml.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func attr(n *xhtml.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

func hasClass(n *xhtml.Node, class string) bool {
	return n.Type == xhtml.ElementNode && strings.Contains(" "+attr(n, "class")+" ", " "+class+" ")
}

// all returns the elements below n that match.
func all(n *xhtml.Node, match func(*xhtml.Node) bool) []*xhtml.Node {
	var out []*xhtml.Node
	var walk func(*xhtml.Node)
	walk = func(n *xhtml.Node) {
		if match(n) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

func tag(name string) func(*xhtml.Node) bool {
	return func(n *xhtml.Node) bool { return n.Type == xhtml.ElementNode && n.Data == name }
}

func textOf(n *xhtml.Node) string {
	var b strings.Builder
	for _, t := range all(n, func(n *xhtml.Node) bool { return n.Type == xhtml.TextNode }) {
		b.WriteString(t.Data)
	}
	return b.String()
}

func TestFull(t *testing.T) {
	res := reporttest.Full()
	page := render(t, res, Options{Version: reporttest.Version})
	doc := parse(t, page)
	rows := all(doc, func(n *xhtml.Node) bool { return hasClass(n, "finding") })
	if len(rows) != len(res.Findings) {
		t.Fatalf("%d findings listed, want %d", len(rows), len(res.Findings))
	}
	// Each row carries its severity as a word, its check's title, the
	// message, the place and the remediation.
	for i, r := range rows {
		text := textOf(r)
		for _, want := range []string{"how to fix"} {
			if !strings.Contains(text, want) {
				t.Errorf("row %d %q lacks %q", i, text, want)
			}
		}
		sev := attr(r, "data-sev")
		if !strings.Contains(text, strings.ToUpper(sev)) {
			t.Errorf("row %d: severity %q not written as a word: %q", i, sev, text)
		}
	}
	body := textOf(doc)
	for _, want := range []string{
		"Container may run as root", `container "api" must set securityContext.runAsNonRoot=true`, "deploy/web.yaml:18:9",
		"spec.template.spec.containers[0]", "Set securityContext.runAsNonRoot to true\nand runAsUser", "Pod Security Standards: restricted",
		"Run kubeharden fix, or by hand:",
		// The config file's finding, outside objects, grouped by its file.
		"File .kubeharden.yaml", "exemption expired on 2024-01-31 (reason was: waiting for upstream <fix>)",
		// Rendered objects name their origin.
		"from helm chart shop: templates/worker.yaml",
		`Namespace "shop"`, "No namespace (cluster-scoped, or none set in the manifest)",
		// Input errors, suppressed findings with their reasons.
		"deploy/broken.yaml:3: invalid YAML", "missing.yaml: no such file or directory",
		"initdb needs root; tracked in SEC-12", "ignore.kubeharden.io/run-as-non-root",
		"Written by kubeharden 1.2.3-test",
		// The summary line of the text format.
		"7 findings (1 critical, 1 high, 2 medium, 2 low, 1 info) · 2 suppressed · 3 input errors · 6 objects in 5 files",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// The charts: every severity with its count, and the fixable share.
	for _, want := range []string{"1 CRITICAL, 1 HIGH, 2 MEDIUM, 2 LOW, 1 INFO", "2 of 7 findings fixed by kubeharden fix"} {
		if !strings.Contains(body, want) {
			t.Errorf("charts lack %q", want)
		}
	}
	// Each row links to its check's remediation, which exists once.
	for _, r := range rows {
		var href string
		for _, a := range all(r, tag("a")) {
			if hasClass(a, "howto") {
				href = attr(a, "href")
			}
		}
		targets := all(doc, func(n *xhtml.Node) bool { return n.Type == xhtml.ElementNode && "#"+attr(n, "id") == href })
		if len(targets) != 1 || !strings.Contains(textOf(targets[0]), attr(r, "data-check")) {
			t.Errorf("row of %s links to %q, not to its check", attr(r, "data-check"), href)
		}
	}
	if bytes.Contains(page, []byte("<fix>")) {
		t.Error("a message's <fix> reached the page unescaped")
	}
}

func TestSelfContained(t *testing.T) {
	page := render(t, reporttest.Full(), Options{})
	doc := parse(t, page)
	// Nothing is loaded: no src or href outside the page.
	for _, n := range all(doc, func(n *xhtml.Node) bool { return n.Type == xhtml.ElementNode }) {
		for _, a := range n.Attr {
			if (a.Key == "src" || a.Key == "href") && !strings.HasPrefix(a.Val, "#") {
				t.Errorf("<%s %s=%q> loads from outside the page", n.Data, a.Key, a.Val)
			}
		}
		if n.Data == "link" {
			t.Errorf("<link> in the page")
		}
	}
	// The policy allows exactly the script and style the page holds.
	var csp string
	for _, m := range all(doc, tag("meta")) {
		if attr(m, "http-equiv") == "Content-Security-Policy" {
			csp = attr(m, "content")
		}
	}
	if !strings.Contains(csp, "default-src 'none'") {
		t.Fatalf("CSP %q does not deny by default", csp)
	}
	for _, el := range []string{"script", "style"} {
		nodes := all(doc, tag(el))
		if len(nodes) != 1 {
			t.Fatalf("%d <%s> elements, want 1", len(nodes), el)
		}
		sum := sha256.Sum256([]byte(textOf(nodes[0])))
		want := el + "-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q does not allow the page's <%s> (want %q)", csp, el, want)
		}
	}
}

// TestHostileNames renders names and messages that try to break out of
// text, attributes and ids.
func TestHostileNames(t *testing.T) {
	evil := `"><script>alert(1)</script><img src=x onerror=alert(2)>`
	obj := &check.ObjectRef{Kind: "Pod", Name: evil, Namespace: evil}
	obj2 := &check.ObjectRef{Kind: "Pod", Name: "p", Namespace: "ns-" + evil}
	res := &scan.Result{
		Findings: []check.Finding{
			{Check: evil, Severity: check.High, Object: obj, Message: evil, Path: evil, Location: check.Location{File: evil, Line: 1}},
			{Check: "c", Severity: check.Severity(42), Object: obj2, Message: "m", Location: check.Location{File: "f", Line: 2}},
			{Check: "c", Severity: check.Low, Message: evil, Location: check.Location{File: evil + ".Dockerfile", Line: 3}},
		},
		Objects:          2,
		NamespaceObjects: map[string]int{evil: 1, "ns-" + evil: 1},
	}
	page := render(t, res, Options{Version: evil})
	doc := parse(t, page)
	if n := len(all(doc, tag("script"))); n != 1 {
		t.Errorf("%d <script> elements, want only the page's own", n)
	}
	if n := len(all(doc, tag("img"))); n != 0 {
		t.Errorf("%d <img> elements injected", n)
	}
	ids := map[string]bool{}
	for _, n := range all(doc, func(n *xhtml.Node) bool { return attr(n, "id") != "" }) {
		id := attr(n, "id")
		if ids[id] {
			t.Errorf("duplicate id %q", id)
		}
		ids[id] = true
		if strings.ContainsAny(id, " \"<>") {
			t.Errorf("id %q is not a plain token", id)
		}
	}
	if !strings.Contains(textOf(doc), evil) {
		t.Error("the hostile name is not shown as text")
	}
}

func TestTruncated(t *testing.T) {
	res := reporttest.Large(1000)
	page := render(t, res, Options{MaxFindings: 100})
	doc := parse(t, page)
	rows := all(doc, func(n *xhtml.Node) bool { return hasClass(n, "finding") })
	if len(rows) != 100 {
		t.Fatalf("%d findings listed, want the bound, 100", len(rows))
	}
	// Large repeats Full's 7 findings, one in 7 critical: 143 critical, so
	// the 100 listed are all critical.
	for _, r := range rows {
		if s := attr(r, "data-sev"); s != "critical" {
			t.Fatalf("listed a %s finding while critical ones were left out", s)
		}
	}
	body := textOf(doc)
	for _, want := range []string{"lists the 100 most severe of 1,000 findings", "--html-max-findings", "1,000 findings."} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// Under the bound, everything is listed, in input order.
	page = render(t, res, Options{MaxFindings: 1000})
	rows = all(parse(t, page), func(n *xhtml.Node) bool { return hasClass(n, "finding") })
	if len(rows) != 1000 {
		t.Errorf("%d findings listed, want all 1000", len(rows))
	}
}

func TestLiveObject(t *testing.T) {
	web := &check.ObjectRef{APIVersion: "apps/v1", Kind: "Deployment", Name: "web", Namespace: "shop"}
	pod := &check.ObjectRef{APIVersion: "v1", Kind: "Pod", Name: "debug", Namespace: "shop"}
	res := &scan.Result{
		Findings: []check.Finding{
			{Check: "run-as-non-root", Severity: check.High, Object: web, Message: "m1", Location: check.Location{File: "Deployment/shop/web", Line: 12, Column: 5}, Path: "spec.template.spec"},
			{Check: "run-as-non-root", Severity: check.High, Object: pod, Message: "m2", Location: check.Location{File: "Pod/shop/debug"}},
			{Check: "api-server-version", Severity: check.Medium, Message: "cluster-wide", Location: check.Location{}},
		},
		Objects: 2,
	}
	body := textOf(parse(t, render(t, res, Options{})))
	for _, want := range []string{
		"kubectl edit deployment.apps web -n shop", "kubectl edit pod debug -n shop",
		"Deployment/shop/web · spec.template.spec", "(cluster)", "the cluster as a whole",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// A line of the object as the audit serialized it is in no file.
	if strings.Contains(body, "Deployment/shop/web:12") || strings.Contains(body, "in Deployment/shop/web") {
		t.Error("a live object is located as if it were a file")
	}
	// An object from a file is edited in the file, not with kubectl.
	if body := textOf(parse(t, render(t, reporttest.Full(), Options{}))); strings.Contains(body, "kubectl edit") {
		t.Error("objects from files get a kubectl edit hint")
	}
}

func TestClean(t *testing.T) {
	body := textOf(parse(t, render(t, reporttest.Clean(), Options{})))
	for _, want := range []string{"no findings · 1 object in 1 file", "100/100, grade A", "No findings."} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// TestImage renders the inventory of an image and the findings of the
// real image checks on it.
func TestImage(t *testing.T) {
	files := map[string]*image.File{}
	for p, mode := range map[string]fs.FileMode{
		"/bin/busybox": 0o755, "/usr/bin/passwd": 0o755 | fs.ModeSetuid, "/usr/bin/curl": 0o755, "/sbin/apk": 0o755,
	} {
		files[p] = &image.File{Path: p, Mode: mode}
	}
	files["/bin/sh"] = &image.File{Path: "/bin/sh", Mode: fs.ModeSymlink | 0o777, Linkname: "/bin/busybox"}
	img := &image.Image{Ref: "registry.example/app:1", Digest: "sha256:abc", OS: "linux", Arch: "amd64", Layers: 3, Files: files,
		Entrypoint: []string{"/app"}, OSRelease: map[string]string{"ID": "alpine", "PRETTY_NAME": "Alpine Linux v3.20"}}
	res := scan.RunImages(context.Background(), []*image.Image{img}, scan.Options{Registry: checks.Registry()})
	if len(res.Findings) == 0 {
		t.Fatal("the image checks found nothing in a root image with a shell")
	}
	doc := parse(t, render(t, res, Options{}))
	body := textOf(doc)
	for _, want := range []string{
		"Images", "registry.example/app:1", "sha256:abc", "linux/amd64", "(none: root)", `["/app"]`, "alpine",
		"/bin/sh -> /bin/busybox", "/usr/bin/curl", "/sbin/apk", "/usr/bin/passwd (setuid)", "Image registry.example/app:1",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// The image's heading links to its findings.
	var link string
	for _, a := range all(doc, tag("a")) {
		if textOf(a) == img.Ref {
			link = attr(a, "href")
		}
	}
	if link == "" || len(all(doc, func(n *xhtml.Node) bool { return "#"+attr(n, "id") == link })) != 1 {
		t.Errorf("the image's heading links to %q, which is not one element", link)
	}
}

func TestAnchorDistinct(t *testing.T) {
	seen := map[string]string{}
	for _, name := range []string{"", "a", "A", "a-b", "a_2d", "a.b", "a/b", "a b", "ü"} {
		a := anchor("ns", name)
		if prev, dup := seen[a]; dup {
			t.Errorf("anchor(%q) = anchor(%q) = %q", name, prev, a)
		}
		seen[a] = name
	}
}

func TestCommas(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 607871: "607,871", 1234567: "1,234,567", -1500: "-1,500"} {
		if got := commas(n); got != want {
			t.Errorf("commas(%d) = %q, want %q", n, got, want)
		}
	}
}

// moved returns a baseline that had res's findings three lines lower
// (a line shift alone is not new), except the first drop (new now), plus
// gone, which is fixed.
func moved(res *scan.Result, drop int, gone ...check.Finding) *baseline.Comparison {
	base := &baseline.Report{Name: "old.json", Version: "1.0.0"}
	for _, f := range res.Findings[drop:] {
		f.Location.Line += 3
		base.Findings = append(base.Findings, f)
	}
	base.Findings = append(base.Findings, gone...)
	return baseline.Compare(base, res.Findings, res.Suppressed)
}

func TestBaseline(t *testing.T) {
	res := reporttest.Full()
	gone := check.Finding{Check: "host-namespaces", Severity: check.High, Message: `pod must not set hostNetwork=true`,
		Object: &check.ObjectRef{Kind: "Deployment", Name: "old", Namespace: "shop"}, Location: check.Location{File: "deploy/old.yaml", Line: 4}}
	cmp := moved(res, 1, gone)
	doc := parse(t, render(t, res, Options{Baseline: cmp}))
	rows := all(doc, func(n *xhtml.Node) bool { return hasClass(n, "finding") })
	for i, r := range rows {
		want := "unchanged"
		if strings.Contains(textOf(r), res.Findings[0].Message) {
			want = "new"
		}
		if got := attr(r, "data-base"); got != want {
			t.Errorf("row %d (%s) is %q, want %q", i, attr(r, "data-check"), got, want)
		}
		if badge := strings.Contains(textOf(r), "NEW"); badge != (want == "new") {
			t.Errorf("row %d: NEW badge %v, want %v", i, badge, want == "new")
		}
	}
	body := textOf(doc)
	for _, want := range []string{
		"since old.json (1.0.0): 1 new · 1 fixed · 6 unchanged", "Fixed since the baseline",
		"pod must not set hostNetwork=true", "deploy/old.yaml:4", "Deployment old", "new (1)", "unchanged (6)",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// Without a baseline, no trace of one.
	doc = parse(t, render(t, res, Options{}))
	ids := all(doc, func(n *xhtml.Node) bool { id := attr(n, "id"); return id == "f-base" || id == "fixed" })
	if strings.Contains(strings.ToLower(textOf(doc)), "since the baseline") || len(ids) > 0 {
		t.Error("a page without --baseline mentions a baseline")
	}
}

// TestWorst lists the objects with the highest penalty first, each linked
// to its findings when they are listed.
func TestWorst(t *testing.T) {
	res := reporttest.Full()
	doc := parse(t, render(t, res, Options{}))
	var table *xhtml.Node
	for _, h := range all(doc, tag("h3")) {
		if textOf(h) == "The worst objects" {
			for n := h.NextSibling; n != nil; n = n.NextSibling {
				if n.Type == xhtml.ElementNode && n.Data == "table" {
					table = n
					break
				}
			}
		}
	}
	if table == nil {
		t.Fatal("no table of the worst objects")
	}
	rows := all(table, tag("tr"))[1:]
	// web: critical + high + medium = 17, capped at 10; then the config
	// file (low, 1) ... and db (info, 0) is not listed.
	if len(rows) == 0 || !strings.HasPrefix(textOf(rows[0]), "Deployment/shop/web") || !strings.Contains(textOf(rows[0]), "10/10") {
		t.Fatalf("first worst object: %q, want Deployment/shop/web at 10/10", textOf(rows[0]))
	}
	for _, r := range rows {
		if strings.Contains(textOf(r), "StatefulSet/db") {
			t.Errorf("an object whose findings weigh nothing is among the worst: %q", textOf(r))
		}
		for _, a := range all(r, tag("a")) {
			id := strings.TrimPrefix(attr(a, "href"), "#")
			targets := all(doc, func(n *xhtml.Node) bool { return attr(n, "id") == id })
			if len(targets) != 1 || !hasClass(targets[0], "object") {
				t.Errorf("%q links to %q, not to one object", textOf(r), attr(a, "href"))
			}
		}
	}
}
