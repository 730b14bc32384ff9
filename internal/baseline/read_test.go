package baseline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/limits"
)

// An older or newer kubeharden's report: fields missing (no path, no
// remediation, no summary) or unknown are fine as long as findings are
// there.
func TestOtherVersions(t *testing.T) {
	old := `{"version":"v0.3.0","findings":[{"check":"privileged-container","severity":"critical","message":"m",
	  "object":{"kind":"Pod","name":"p","namespace":""},"location":{"file":"pod.yaml","line":7}}],"errors":[]}`
	rep, err := Parse([]byte(old), "old.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 1 || rep.Findings[0].Path != "" || rep.Findings[0].Object.Kind != "Pod" || rep.Findings[0].Severity != check.Critical {
		t.Errorf("old report: %+v", rep.Findings)
	}
	newer := `{"version":"v9.0.0","schema":2,"findings":[{"check":"c","severity":"low","message":"m","location":{"file":"f","line":1,"column":1},
	  "path":"","fingerprint":"abc","baseline":"new","extra":{"a":[1,2]}}],"fixed":[],"summary":{"findings":1,"baseline":{"new":1}}}`
	if rep, err = Parse([]byte(newer), "new.json"); err != nil || len(rep.Findings) != 1 {
		t.Fatalf("newer report: %v, %+v", err, rep)
	}
	if rep, err = Parse([]byte(`{"findings":[]}`), "min.json"); err != nil || rep.Version != "" || len(rep.Findings) != 0 {
		t.Fatalf("minimal report: %v, %+v", err, rep)
	}
}

func TestBadBaselines(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"truncated", "{\n  \"version\": \"1\",\n  \"findings\": [\n    {\"check\": ", "bad.json:4:5: baseline is not valid JSON: findings[0]: unexpected EOF"},
		{"not JSON", "findings: []\n", "bad.json:1:1: baseline is not valid JSON: invalid character 'i' in literal false"},
		{"empty", "", "bad.json:1:1: baseline is not valid JSON: unexpected EOF"},
		{"sarif", `{"version":"2.1.0","runs":[{"results":[{"ruleId":"x"}]}]}`, "bad.json: baseline is not a kubeharden JSON report (from kubeharden scan -o json): it has no findings array"},
		{"null findings", `{"findings":null}`, "has no findings array"},
		{"findings not an array", "{\n\"findings\": {}}", "bad.json:2:13: baseline is not a kubeharden JSON report: findings is an object, want an array"},
		{"line a string", "{\"findings\":[\n{\"check\":\"c\",\"severity\":\"low\"},\n {\"check\":\"c\",\"severity\":\"low\",\"location\":{\"line\":\"7\"}}]}",
			"bad.json:3:2: baseline is not a kubeharden JSON report: findings[1].location.line is a JSON string, want a number"},
		{"a finding not an object", `{"findings":[1]}`, "bad.json:1:14: baseline is not a kubeharden JSON report: findings[0] is a JSON number, want an object"},
		{"no check", `{"findings":[{"severity":"low"}]}`, "bad.json:1:14: baseline findings[0]: has no check"},
		{"bad severity", `{"findings":[{"check":"c","severity":"urgent"}]}`, `bad.json:1:14: baseline findings[0]: unknown severity "urgent"`},
		{"trailing garbage", `{"findings":[]} {}`, "bad.json:1:17: baseline is not valid JSON: more after the report"},
		{"unclosed", `{"findings":[]`, "bad.json:1:15: baseline is not valid JSON: unexpected EOF"},
		{"bad member", `{"suppressed": [{]], "findings": []}`, "bad.json:1:16: baseline is not valid JSON: invalid character ']'"},
		{"deep", `{"suppressed": ` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `, "findings": []}`, "bad.json:1:16: baseline is not valid JSON: nested deeper than 10000"},
		{"deep finding", `{"findings": [{"x": ` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}]}`, "bad.json:1:15: baseline is not valid JSON: findings[0]: invalid character '[' exceeded max depth"},
		{"top level array", `[]`, "bad.json:1:1: baseline is not a kubeharden JSON report: the document is an array, want an object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc), "bad.json")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestSizeLimit(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "huge.json")
	doc := `{"findings":[` + strings.Repeat(`{"check":"c","severity":"low"},`, 100) + `{"check":"c","severity":"low"}]}`
	if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(context.Background(), p, limits.Limits{BaselineSize: 1024})
	var ex *limits.Exceeded
	if !errors.As(err, &ex) || !strings.Contains(err.Error(), "reading baseline "+p+": exceeds the baseline size limit of 1 KiB (raise it with --max-baseline-size)") {
		t.Fatalf("Load past the limit: %v", err)
	}
	// A file that grows past the limit while it is read is cut there.
	lr := &limitedReader{r: strings.NewReader(doc), n: 1024}
	if _, err := decode(context.Background(), lr, "-"); err == nil || !lr.over {
		t.Fatalf("reading past the limit: %v, over %v", err, lr.over)
	}
	rep, err := Load(context.Background(), p, limits.Limits{BaselineSize: int64(len(doc))})
	if err != nil || len(rep.Findings) != 101 {
		t.Fatalf("Load at the limit: %v", err)
	}
	// The strings and objects that repeat are shared.
	if rep.Findings[0].Check != "c" {
		t.Fatal(rep.Findings[0])
	}
}

func TestMaxFindings(t *testing.T) {
	defer func(n int) { maxFindings = n }(maxFindings)
	maxFindings = 1000
	one := `{"check":"c","severity":"low"},`
	doc := `{"findings":[` + strings.Repeat(one, maxFindings) + `{"check":"c","severity":"low"}]}`
	_, err := Parse([]byte(doc), "many.json")
	if want := fmt.Sprintf("many.json:1:%d: baseline has more than %d findings", 14+len(one)*maxFindings, maxFindings); err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
	rep, err := Parse([]byte(`{"findings":[`+strings.Repeat(one, maxFindings-1)+`{"check":"c","severity":"low"}]}`), "max.json")
	if err != nil || len(rep.Findings) != maxFindings {
		t.Errorf("at the bound: %v", err)
	}
}

func TestCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	doc := `{"findings":[{"check":"c","severity":"low"}]}`
	if _, err := decode(ctx, strings.NewReader(doc), "x.json"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// A bad baseline file's error has the line and column, counted in the
// file.
func TestLoadPosition(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.json")
	doc := "{\n  \"findings\": [\n    {\"check\": \"c\", \"severity\": \"low\"},\n    {\"check\": \"c\", \"severity\": \"severe\"}\n  ]\n}\n"
	if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(context.Background(), p, limits.Default()); err == nil || err.Error() != p+`:4:5: baseline findings[1]: unknown severity "severe" (want one of info, low, medium, high, critical)` {
		t.Errorf("Load: %v", err)
	}
}

// Objects and repeated strings are shared between the findings of a
// baseline: a large one costs its messages, not its copies.
func TestInterned(t *testing.T) {
	doc := `{"findings":[` +
		`{"check":"a","severity":"low","message":"m1","object":{"kind":"Pod","name":"p","namespace":"ns","apiVersion":"v1"},"location":{"file":"f.yaml","line":1},"path":"spec"},` +
		`{"check":"b","severity":"low","message":"m2","object":{"kind":"Pod","name":"p","namespace":"ns","apiVersion":"v1"},"location":{"file":"f.yaml","line":2},"path":"spec"}]}`
	rep, err := Parse([]byte(doc), "x.json")
	if err != nil {
		t.Fatal(err)
	}
	a, b := rep.Findings[0], rep.Findings[1]
	if a.Object != b.Object || unsafe.StringData(a.Location.File) != unsafe.StringData(b.Location.File) || unsafe.StringData(a.Path) != unsafe.StringData(b.Path) {
		t.Error("the object, file and path of two findings are not shared")
	}
}

func TestNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// Opening a FIFO without a writer would block: it must not.
	if _, err := Load(context.Background(), fifo, limits.Default()); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("fifo: %v", err)
	}
	if _, err := Load(context.Background(), dir, limits.Default()); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: %v", err)
	}
	if _, err := Load(context.Background(), filepath.Join(dir, "missing.json"), limits.Default()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
}

// FuzzParse holds Parse to its contract on any input: an error or a
// report, never a panic, and every finding it returns has a check and a
// known severity.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"version":"1","findings":[{"check":"c","severity":"high","message":"m","object":{"kind":"Pod","name":"p"},"location":{"file":"f","line":3,"column":2},"path":"spec"}]}`))
	f.Add([]byte(`{"findings":[]}`))
	f.Add([]byte(`{"findings":[{"check":"c","severity":"low","object":null}]}` + "\n"))
	f.Add([]byte("{\n\"findings\": [1]}"))
	f.Add([]byte(`[[[[[[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := Parse(data, "fuzz.json")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.json") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, f := range rep.Findings {
			if f.Check == "" || f.Severity < check.Info || f.Severity > check.Critical {
				t.Fatalf("finding without a check or severity: %+v", f)
			}
		}
		Compare(rep, rep.Findings, nil)
	})
}
