package report_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/report"
	"github.com/kubeharden/kubeharden/internal/report/reporttest"
)

func TestFormats(t *testing.T) {
	got := report.Formats()
	if want := []string{"text", "json", "sarif", "junit", "html", "openreports"}; !slices.Equal(got, want) {
		t.Errorf("Formats() = %v, want %v", got, want)
	}
	if got[0] != report.DefaultFormat {
		t.Errorf("default format %q is not listed first", report.DefaultFormat)
	}
}

func TestLookup(t *testing.T) {
	opts := report.Options{Version: "1.0.0", FailOn: check.High}
	tests := []struct {
		format string
		// valid says whether the output parses as what the format promises.
		valid func([]byte) error
	}{
		{"text", func(b []byte) error { return nil }},
		{"json", func(b []byte) error { var v map[string]any; return json.Unmarshal(b, &v) }},
		{"sarif", func(b []byte) error { var v map[string]any; return json.Unmarshal(b, &v) }},
		{"junit", func(b []byte) error { var v struct{}; return xml.Unmarshal(b, &v) }},
		{"openreports", func(b []byte) error {
			for _, d := range strings.Split(string(b), "---\n")[1:] {
				var v map[string]any
				if err := yaml.Unmarshal([]byte(d), &v); err != nil {
					return err
				}
			}
			return nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			render, err := report.Lookup(tt.format)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := render(&buf, reporttest.Full(), opts); err != nil {
				t.Fatal(err)
			}
			if err := tt.valid(buf.Bytes()); err != nil {
				t.Errorf("output does not parse: %v", err)
			}
			if !bytes.HasSuffix(buf.Bytes(), []byte("\n")) {
				t.Error("output does not end with a newline")
			}
		})
	}
}

func TestLookupUnknown(t *testing.T) {
	for _, name := range []string{"", "xml", "HTML", "text ", "JSON"} {
		_, err := report.Lookup(name)
		if err == nil {
			t.Errorf("Lookup(%q) succeeded", name)
			continue
		}
		if want := `(want one of text, json, sarif, junit, html, openreports)`; !strings.Contains(err.Error(), want) {
			t.Errorf("Lookup(%q) error %q does not list the formats", name, err)
		}
	}
}

// Options reach the format that uses them.
func TestOptionsArePassedOn(t *testing.T) {
	render := func(format string, opts report.Options) string {
		t.Helper()
		r, err := report.Lookup(format)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := r(&buf, reporttest.Full(), opts); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	if out := render("text", report.Options{Color: true}); !strings.Contains(out, "\x1b[") {
		t.Error("text: Color not passed on")
	}
	if out := render("text", report.Options{}); strings.Contains(out, "\x1b[") {
		t.Error("text: colour without Color")
	}
	out := render("json", report.Options{Version: "7.7.7"})
	if !strings.Contains(out, `"version": "7.7.7"`) {
		t.Error("json: Version not passed on")
	}
	out = render("sarif", report.Options{Version: "7.7.7"})
	if !strings.Contains(out, `"version": "7.7.7"`) || !strings.Contains(out, `"informationUri": "`+report.DefaultToolURI+`"`) {
		t.Error("sarif: Version not passed on or no default tool URI")
	}
	if out := render("sarif", report.Options{ToolURI: "https://example.com/kh"}); !strings.Contains(out, `"informationUri": "https://example.com/kh"`) {
		t.Error("sarif: ToolURI not passed on")
	}
}
