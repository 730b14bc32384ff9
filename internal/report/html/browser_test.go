package html

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	xhtml "golang.org/x/net/html"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/checks"
	"github.com/kubeharden/kubeharden/internal/corpustest"
	"github.com/kubeharden/kubeharden/internal/scan"
	"github.com/kubeharden/kubeharden/internal/scan/scantest"
)

// EnvChromium names the Chromium binary the browser tests drive; without
// it they look for chromium on PATH, which `make chromium` installs.
const EnvChromium = "KUBEHARDEN_CHROMIUM"

// chromiumPath finds headless Chromium or fails the test: it is a
// dependency of the test suite, and a skip would hide that the page was
// never opened.
func chromiumPath(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(EnvChromium); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatalf("no Chromium on PATH and %s unset: run `make chromium` (Debian's chromium package)", EnvChromium)
	return ""
}

// tab is a page open in headless Chromium, with what its console said.
type tab struct {
	ctx      context.Context
	mu       sync.Mutex
	problems []string
}

// openTab starts Chromium (scripts on or off) and returns a tab; both end
// with the test.
func openTab(t testing.TB, scripts bool) *tab {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.WindowSize(1280, 1000),
		chromedp.UserDataDir(t.TempDir()),
	)
	if os.Geteuid() == 0 {
		// Chromium refuses to run as root with its sandbox.
		opts = append(opts, chromedp.NoSandbox)
	}
	if !scripts {
		opts = append(opts, chromedp.Flag("blink-settings", "scriptEnabled=false"))
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	tb := &tab{ctx: ctx}
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	err := chromedp.Listen(ctx, func(ev any) {
		var p string
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			p = "exception: " + e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				p += " " + e.ExceptionDetails.Exception.Description
			}
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning || e.Type == runtime.ConsoleAPICalledTypeAssert {
				p = fmt.Sprintf("console.%s", e.Type)
				for _, a := range e.Args {
					p += fmt.Sprintf(" %s%s", a.Value, a.Description)
				}
			}
		case *log.EventEntryAdded:
			if e.Entry.Level == log.EntryLevelError || e.Entry.Level == log.EntryLevelWarning {
				p = fmt.Sprintf("log %s (%s): %s %s", e.Entry.Level, e.Entry.Source, e.Entry.Text, e.Entry.URL)
			}
		}
		if p != "" {
			tb.mu.Lock()
			tb.problems = append(tb.problems, p)
			tb.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// load opens a page file and waits for its load event.
func (tb *tab) load(t testing.TB, path string) {
	t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(tb.ctx, chromedp.Navigate("file://"+abs)); err != nil {
		t.Fatalf("opening %s: %v", path, err)
	}
}

// noProblems fails the test on any console error or warning, exception,
// or browser log error (a refused request, a CSP violation).
func (tb *tab) noProblems(t testing.TB) {
	t.Helper()
	// Events arrive asynchronously: a round trip flushes those already sent.
	if _, err := chromedp.Run(tb.ctx, chromedp.Evaluate[int]("1")); err != nil {
		t.Fatal(err)
	}
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, p := range tb.problems {
		t.Errorf("browser: %s", p)
	}
}

func (tb *tab) eval(t testing.TB, expr string) string {
	t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

func (tb *tab) do(t testing.TB, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(tb.ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// visible counts the finding rows a person sees, and lists their
// severities, checks and namespaces.
type visibleRows struct {
	N      int
	Sev    map[string]int
	Check  map[string]int
	NS     map[string]int
	Shown  string
	Groups int
}

const visibleJS = `(() => {
  const out = {N: 0, Sev: {}, Check: {}, NS: {}, Shown: (document.getElementById("shown") || {}).textContent || "", Groups: 0};
  for (const r of document.querySelectorAll("li.finding")) {
    if (!r.checkVisibility()) continue;
    out.N++;
    out.Sev[r.dataset.sev] = (out.Sev[r.dataset.sev] || 0) + 1;
    out.Check[r.dataset.check] = (out.Check[r.dataset.check] || 0) + 1;
    out.NS[r.dataset.ns] = (out.NS[r.dataset.ns] || 0) + 1;
  }
  for (const g of document.querySelectorAll("section.group")) if (g.checkVisibility()) out.Groups++;
  return out;
})()`

func (tb *tab) visible(t testing.TB) visibleRows {
	t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[visibleRows](visibleJS))
	if err != nil {
		t.Fatalf("counting visible rows: %v", err)
	}
	return v
}

// repoPath is a path from the repository root.
func repoPath(parts ...string) string {
	return filepath.Join(append([]string{"..", "..", ".."}, parts...)...)
}

// writePage scans inputs with every built-in check and writes the page.
func writePage(t testing.TB, inputs []string, opts Options) (*scan.Result, string, []byte) {
	t.Helper()
	res := scantest.Paths(inputs, scan.Options{Registry: checks.Registry()})
	if len(res.Findings) == 0 {
		t.Fatalf("scanning %v found nothing", inputs)
	}
	page := render(t, res, opts)
	path := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(path, page, 0o644); err != nil {
		t.Fatal(err)
	}
	return res, path, page
}

func countBy(res *scan.Result, keep func(*check.Finding) bool) int {
	n := 0
	for i := range res.Findings {
		if keep(&res.Findings[i]) {
			n++
		}
	}
	return n
}

// searchMatches counts the rows whose object heading, object notes and
// row text contain q, case-insensitively, read with Go's HTML parser: the
// same definition as the page's search box, computed apart from it.
func searchMatches(t testing.TB, page []byte, q string) int {
	doc := parse(t, page)
	n := 0
	q = strings.ToLower(q)
	for _, obj := range all(doc, func(n *xhtml.Node) bool { return hasClass(n, "object") }) {
		head := textOf(all(obj, tag("h4"))[0])
		for _, sub := range all(obj, func(n *xhtml.Node) bool { return hasClass(n, "sub") }) {
			head += " " + textOf(sub)
		}
		for _, r := range all(obj, func(n *xhtml.Node) bool { return hasClass(n, "finding") }) {
			if strings.Contains(strings.ToLower(head+" "+textOf(r)), q) {
				n++
			}
		}
	}
	return n
}

// TestBrowserExample opens the report of the bundled insecure example in
// headless Chromium and uses its filters with the keyboard.
func TestBrowserExample(t *testing.T) {
	res, path, page := writePage(t, []string{repoPath("examples", "insecure-app")}, Options{})
	total := len(res.Findings)
	tb := openTab(t, true)
	tb.load(t, path)

	v := tb.visible(t)
	if v.N != total {
		t.Fatalf("%d findings visible, want all %d", v.N, total)
	}
	if want := fmt.Sprintf("Showing %s of %s listed findings.", commas(total), commas(total)); v.Shown != want {
		t.Errorf("status %q, want %q (did the script run?)", v.Shown, want)
	}
	if hidden := tb.eval(t, `String(document.getElementById("filters").hidden)`); hidden != "false" {
		t.Errorf("the filters are hidden with scripts on")
	}

	// Severity: keep only high, unticking the others from the keyboard.
	for _, sev := range []string{"critical", "medium", "low", "info"} {
		tb.do(t, "unticking "+sev,
			chromedp.Focus(chromedp.CSS(`input.f-sev[value="`+sev+`"]`)),
			chromedp.KeyEvent(" "))
	}
	high := countBy(res, func(f *check.Finding) bool { return f.Severity == check.High })
	if high == 0 || high == total {
		t.Fatalf("the example has %d high findings of %d: the test needs some and not all", high, total)
	}
	v = tb.visible(t)
	if v.N != high || v.Sev["high"] != high {
		t.Errorf("with only high ticked: %d visible (%v), want %d high", v.N, v.Sev, high)
	}
	if want := fmt.Sprintf("Showing %s of %s listed findings.", commas(high), commas(total)); v.Shown != want {
		t.Errorf("status %q, want %q", v.Shown, want)
	}

	// Clear the filters.
	tb.do(t, "resetting", chromedp.Click(chromedp.ID("f-clear")))
	if v = tb.visible(t); v.N != total {
		t.Errorf("after Clear filters: %d visible, want %d", v.N, total)
	}

	// Search, typed into the box.
	const q = "seed-000"
	want := searchMatches(t, page, q)
	if want == 0 || want == total {
		t.Fatalf("%d rows match %q: the test needs some and not all", want, q)
	}
	tb.do(t, "typing a search", chromedp.SendKeys(chromedp.ID("f-q"), q))
	if v = tb.visible(t); v.N != want {
		t.Errorf("searching %q: %d visible, want %d", q, v.N, want)
	}
	// The search and a severity together.
	tb.do(t, "unticking medium", chromedp.Focus(chromedp.CSS(`input.f-sev[value="medium"]`)), chromedp.KeyEvent(" "))
	if v = tb.visible(t); v.Sev["medium"] != 0 || v.N >= want {
		t.Errorf("searching %q without medium: %d visible (%v), want fewer than %d and no medium", q, v.N, v.Sev, want)
	}
	tb.do(t, "resetting", chromedp.Click(chromedp.ID("f-clear")))

	// A search that matches nothing hides every group.
	tb.do(t, "typing a search", chromedp.SendKeys(chromedp.ID("f-q"), "no-such-thing-anywhere"))
	if v = tb.visible(t); v.N != 0 || v.Groups != 0 {
		t.Errorf("searching for nothing: %d rows and %d groups visible", v.N, v.Groups)
	}
	tb.do(t, "resetting", chromedp.Click(chromedp.ID("f-clear")))

	// Check and namespace, chosen in their lists.
	const id = "run-as-non-root"
	wantCheck := countBy(res, func(f *check.Finding) bool { return f.Check == id })
	tb.do(t, "choosing a check", chromedp.SetValue(chromedp.ID("f-check"), id),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("f-check").dispatchEvent(new Event("change", {bubbles: true}))`))
	if v = tb.visible(t); v.N != wantCheck || v.Check[id] != wantCheck {
		t.Errorf("check %s: %d visible (%v), want %d", id, v.N, v.Check, wantCheck)
	}
	tb.do(t, "resetting", chromedp.Click(chromedp.ID("f-clear")))
	wantNS := countBy(res, func(f *check.Finding) bool { return f.Object != nil && f.Object.Namespace == "default" })
	if wantNS == 0 {
		t.Fatal("the example has no finding in namespace default")
	}
	tb.do(t, "choosing a namespace", chromedp.SetValue(chromedp.ID("f-ns"), "ns:default"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("f-ns").dispatchEvent(new Event("change", {bubbles: true}))`))
	if v = tb.visible(t); v.N != wantNS {
		t.Errorf("namespace default: %d visible, want %d", v.N, wantNS)
	}
	tb.noProblems(t)
}

// TestBrowserBaseline filters the example's report by its comparison with
// a baseline: two findings new, the others only moved, one fixed.
func TestBrowserBaseline(t *testing.T) {
	res := scantest.Paths([]string{repoPath("examples", "insecure-app")}, scan.Options{Registry: checks.Registry()})
	gone := check.Finding{Check: "privileged-container", Severity: check.Critical, Message: `container "old" must not set securityContext.privileged=true`,
		Object: &check.ObjectRef{Kind: "Deployment", Name: "old"}, Location: check.Location{File: "examples/insecure-app/old.yaml", Line: 9}}
	cmp := moved(res, 2, gone)
	if cmp.New != 2 || len(cmp.Fixed) != 1 || cmp.Unchanged != len(res.Findings)-2 {
		t.Fatalf("comparison: %d new, %d fixed, %d unchanged; want 2, 1, %d", cmp.New, len(cmp.Fixed), cmp.Unchanged, len(res.Findings)-2)
	}
	path := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(path, render(t, res, Options{Baseline: cmp}), 0o644); err != nil {
		t.Fatal(err)
	}
	tb := openTab(t, true)
	tb.load(t, path)
	choose := func(value string) {
		tb.do(t, "choosing "+value, chromedp.SetValue(chromedp.ID("f-base"), value),
			chromedp.Evaluate[chromedp.Void](`document.getElementById("f-base").dispatchEvent(new Event("change", {bubbles: true}))`))
	}
	choose("new")
	if v := tb.visible(t); v.N != 2 {
		t.Errorf("new only: %d visible, want 2", v.N)
	}
	badges := tb.eval(t, `String([...document.querySelectorAll("li.finding")].filter(r => r.checkVisibility() && r.querySelector(".new")).length)`)
	if badges != "2" {
		t.Errorf("new only: %s visible rows marked NEW, want 2", badges)
	}
	choose("unchanged")
	if v := tb.visible(t); v.N != len(res.Findings)-2 {
		t.Errorf("unchanged only: %d visible, want %d", v.N, len(res.Findings)-2)
	}
	fixed := tb.eval(t, `document.getElementById("fixed").checkVisibility() ? document.getElementById("fixed").textContent : ""`)
	if !strings.Contains(fixed, gone.Message) {
		t.Errorf("the fixed finding is not shown: %q", fixed)
	}
	tb.noProblems(t)
}

// TestBrowserNoScript opens the example's report with JavaScript off:
// every finding is shown, the filters (which need it) are not.
func TestBrowserNoScript(t *testing.T) {
	res, path, _ := writePage(t, []string{repoPath("examples", "insecure-app")}, Options{})
	tb := openTab(t, false)
	tb.load(t, path)
	v := tb.visible(t)
	if v.N != len(res.Findings) {
		t.Errorf("scripts off: %d findings visible, want all %d", v.N, len(res.Findings))
	}
	if v.Shown != "" {
		t.Errorf("scripts off, yet the filter script ran (status %q)", v.Shown)
	}
	if got := tb.eval(t, `String(document.getElementById("filters").checkVisibility())`); got != "false" {
		t.Error("scripts off: the filters, which need scripts, are shown")
	}
	note := tb.eval(t, `(() => { for (const n of document.querySelectorAll(".note")) if (n.checkVisibility() && n.textContent.includes("Filtering needs JavaScript")) return "shown"; return ""; })()`)
	if note != "shown" {
		t.Error("scripts off: no visible note that filtering needs JavaScript")
	}
	// The remediation is one link away, without scripts.
	tb.do(t, "following how to fix", chromedp.Click(chromedp.CSS("li.finding a.howto")))
	got := tb.eval(t, `(() => { const c = document.querySelector(location.hash); return c && c.checkVisibility() ? c.querySelector("p.fix").textContent : ""; })()`)
	if got == "" {
		t.Error("scripts off: how to fix leads to no visible remediation")
	}
	tb.noProblems(t)
}

// TestBrowserCorpus opens the report of the real-world corpus.
func TestBrowserCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("scans the whole real-world corpus")
	}
	res, path, _ := writePage(t, []string{corpustest.Dir(t, "real")}, Options{})
	listed := min(len(res.Findings), DefaultMaxFindings)
	tb := openTab(t, true)
	tb.load(t, path)
	v := tb.visible(t)
	if v.N != listed {
		t.Fatalf("%d findings visible, want the %d listed", v.N, listed)
	}
	// Only critical findings.
	for _, sev := range []string{"high", "medium", "low", "info"} {
		tb.do(t, "unticking "+sev, chromedp.Click(chromedp.CSS(`input.f-sev[value="`+sev+`"]`)))
	}
	critical := countBy(res, func(f *check.Finding) bool { return f.Severity == check.Critical })
	if v = tb.visible(t); v.N != min(critical, listed) || v.Sev["critical"] != v.N {
		t.Errorf("only critical: %d visible (%v), want %d", v.N, v.Sev, min(critical, listed))
	}
	tb.noProblems(t)
}

// loadSeconds opens a page in a fresh tab of a running browser and returns
// how long it took until the page was loaded and its script had run.
func loadSeconds(t testing.TB, tb *tab, path string) float64 {
	t.Helper()
	start := time.Now()
	tb.load(t, path)
	if _, err := chromedp.Run(tb.ctx, chromedp.Poll[bool](`document.readyState === "complete" && document.getElementById("shown").textContent !== ""`)); err != nil {
		t.Fatalf("waiting for the page: %v", err)
	}
	return time.Since(start).Seconds()
}

// contrastJS lists the text whose contrast with its background is below
// WCAG AA (4.5:1): badges, notes, links, muted text, code.
const contrastJS = `(() => {
  const rgb = s => { const m = s.match(/[\d.]+/g).map(Number); return {r: m[0], g: m[1], b: m[2], a: m.length > 3 ? m[3] : 1}; };
  const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
  const bg = el => { for (; el; el = el.parentElement) { const c = rgb(getComputedStyle(el).backgroundColor); if (c.a > 0) return c; } return {r: 255, g: 255, b: 255, a: 1}; };
  const bad = [];
  const seen = new Set();
  for (const sel of [".sev", ".grade", ".new", ".sub", "a", "code", ".where", ".note", "h1", "h2", "h3", "h4", "p", "th", "td", "label", "legend", "figcaption", "#shown"]) {
    for (const el of [...document.querySelectorAll(sel)].slice(0, 60)) {
      if (!el.checkVisibility() || !el.textContent.trim()) continue;
      const fg = rgb(getComputedStyle(el).color), b = bg(el);
      const l1 = lum(fg), l2 = lum(b);
      const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
      const key = sel + getComputedStyle(el).color + b.r + "," + b.g + "," + b.b;
      if (ratio < 4.5 && !seen.has(key)) { seen.add(key); bad.push(sel + " " + getComputedStyle(el).color + " on rgb(" + b.r + "," + b.g + "," + b.b + "): " + ratio.toFixed(2)); }
    }
  }
  return bad.join("\n");
})()`

// TestBrowserAccessible checks the page's text contrast, that the search
// box is reached with the Tab key, and what printing shows.
func TestBrowserAccessible(t *testing.T) {
	_, path, _ := writePage(t, []string{repoPath("examples", "insecure-app")}, Options{})
	tb := openTab(t, true)
	tb.load(t, path)
	if bad := tb.eval(t, contrastJS); bad != "" {
		t.Errorf("text below WCAG AA contrast:\n%s", bad)
	}
	// Tab from the top reaches the search box, past the skip link, the
	// links above and the severity boxes.
	reached := false
	for i := 0; i < 60 && !reached; i++ {
		tb.do(t, "pressing Tab", chromedp.KeyEvent("\t"))
		reached = tb.eval(t, `document.activeElement ? document.activeElement.id : ""`) == "f-q"
	}
	if !reached {
		t.Error("Tab never reaches the search box")
	}
	// Printing hides the filters and keeps every finding.
	if _, err := chromedp.Call(tb.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"}); err != nil {
		t.Fatal(err)
	}
	if got := tb.eval(t, `String(document.getElementById("filters").checkVisibility())`); got != "false" {
		t.Error("printing shows the filters")
	}
	total := tb.eval(t, `String(document.querySelectorAll("li.finding").length)`)
	if v := tb.visible(t); fmt.Sprint(v.N) != total {
		t.Errorf("printing shows %d of %s findings", v.N, total)
	}
	pdf, err := chromedp.Run(tb.ctx, chromedp.PrintToPDF())
	if err != nil || len(pdf) < 1000 {
		t.Errorf("printing to PDF: %d bytes, %v", len(pdf), err)
	}
	tb.noProblems(t)
}
