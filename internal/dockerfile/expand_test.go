package dockerfile

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/kubeharden/kubeharden/internal/limits"
)

// doubling is the Dockerfile of issue 10: each ARG twice the last.
func doubling(n int) string {
	var b strings.Builder
	b.WriteString("ARG A0=x\n")
	for i := range n {
		fmt.Fprintf(&b, "ARG A%d=${A%d}${A%d}\n", i+1, i, i)
	}
	fmt.Fprintf(&b, "FROM alpine:3\nENV X=${A%d}\nUSER 1000\n", n)
	return b.String()
}

// Expansion that doubles per line stops at the limit, with an error at
// the line that passes it, matched as a *limits.Exceeded; every value
// stays within the limit.
func TestExpansionBounded(t *testing.T) {
	const max = 4096
	f, errs := Parse("Dockerfile", []byte(doubling(40)), Options{ExpansionSize: max})
	if f == nil || len(errs) == 0 {
		t.Fatalf("file %v, errors %v", f, errs)
	}
	e := errs[0]
	var ex *limits.Exceeded
	// A12 = 2^12 bytes plus the word: line 13.
	if e.Line != 13 || !errors.As(e, &ex) || ex.Flag != "--max-expansion-size" || !strings.Contains(e.Message, `"${A11}${A11}"`) {
		t.Errorf("first error %+v", e)
	}
	for _, s := range f.Stages {
		for _, ins := range s.Instructions {
			for _, a := range ins.Args {
				if len(a) > max {
					t.Errorf("line %d: argument of %d bytes", ins.Line, len(a))
				}
			}
		}
	}
}

// The bytes expansion adds in a whole file are bounded too: many values
// each under the limit add up past it.
func TestExpansionTotalBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("ARG BIG=" + strings.Repeat("x", 1000) + "\nFROM alpine:3\nARG BIG\n")
	for i := range 100 {
		fmt.Fprintf(&b, "ENV E%d=$BIG\n", i)
	}
	f, errs := Parse("Dockerfile", []byte(b.String()), Options{ExpansionSize: 10_000})
	if f == nil || len(errs) != 1 || errs[0].Line != 14 || !strings.Contains(errs[0].Message, "in all") {
		t.Fatalf("errors %v", errs)
	}
	// Nothing is expanded after the error.
	last := f.Stages[0].Instructions[len(f.Stages[0].Instructions)-1]
	if last.Args[0] != "E99=$BIG" {
		t.Errorf("last ENV %q", last.Args)
	}
}

// The default limit lets real Dockerfiles expand as before.
func TestExpansionDefault(t *testing.T) {
	f, errs := Parse("Dockerfile", []byte("ARG V=1.2.3\nFROM alpine:${V}\nARG V\nENV PATH=/opt/bin:$PATH P=${V//./-}\n"), Options{})
	if len(errs) != 0 || f.Stages[0].Base != "alpine:1.2.3" || f.Stages[0].Instructions[1].Args[1] != "P=1-2-3" {
		t.Fatalf("errors %v, file %+v", errs, f.Stages[0].Instructions[1].Args)
	}
}

// Pattern substitution multiplies: ${A//?/$B} replaces every character
// of A by B. It is refused from the bound, before BuildKit builds it.
func TestExpansionReplaceBounded(t *testing.T) {
	src := "ARG A=" + strings.Repeat("a", 2000) + "\nARG B=" + strings.Repeat("b", 2000) + "\nARG C=${A//?/$B}\nFROM alpine:3\n"
	_, errs := Parse("Dockerfile", []byte(src), Options{ExpansionSize: 1 << 20})
	if len(errs) != 1 || errs[0].Line != 3 {
		t.Fatalf("errors %v", errs)
	}
}

// An invalid escape directive, or a directive given twice, is an error
// at its line.
func TestDirectiveErrorLine(t *testing.T) {
	for _, c := range []struct {
		src  string
		line int
	}{
		{"# escape=x\nFROM alpine\n", 1},
		{"# syntax=docker/dockerfile:1\n  #  ESCAPE = x\nFROM alpine\n", 2},
		{"\ufeff# escape=`\n# escape=\\\nFROM alpine\n", 2},
	} {
		f, errs := Parse("Dockerfile", []byte(c.src), Options{})
		if f != nil || len(errs) != 1 || errs[0].Line != c.line {
			t.Errorf("%q: errors %v, want one at line %d", c.src, errs, c.line)
		}
	}
}

// FuzzExpansionBound checks the property the limit rests on: whatever
// the word and the values, BuildKit's lexer never expands a word past
// expansionBound.
func FuzzExpansionBound(f *testing.F) {
	for _, s := range []string{"$A$A", "${A}${B}", "${A//?/$B}", "${A//?/${B//?/$A}}", "${A:-$B$B}", "${A:+${B}x}", "${A%%?}", "${A#*}", "${X:-$A}", `"$A"'$B'`, `\$A$A`, "${A/a/$AB}", "$1$@$*", "$ÄB"} {
		f.Add(s, "ab", "xyz")
	}
	f.Fuzz(func(t *testing.T, word, a, b string) {
		// Parse hands the lexer valid UTF-8 only (validUTF8).
		if len(a) > 64 || len(b) > 64 || len(word) > 256 || !utf8.ValidString(word) {
			return
		}
		env := vars{"A": a, "B": b, "AB": a + b, "ÄB": b, "1": a}
		bound := expansionBound(word, env)
		if bound > 1<<20 {
			return // refused without expanding
		}
		for _, skip := range []bool{false, true} {
			lex := shell.NewLex('\\')
			lex.SkipUnsetEnv = skip
			out, _, err := lex.ProcessWord(word, env)
			if err == nil && int64(len(out)) > bound {
				t.Fatalf("%q with A=%q B=%q: %d bytes, bound %d", word, a, b, len(out), bound)
			}
		}
	})
}

// A line longer than BuildKit reads is an error at that line, not "no
// instructions" nor the line before.
func TestLongLine(t *testing.T) {
	for _, c := range []struct {
		src  string
		line int
	}{
		{"ARG A=" + strings.Repeat("a", 70000) + "\nFROM alpine\n", 1},
		{"FROM alpine\nRUN echo\nARG A=" + strings.Repeat("a", 70000) + "\n", 3},
	} {
		f, errs := Parse("Dockerfile", []byte(c.src), Options{})
		if f != nil || len(errs) != 1 || errs[0].Line != c.line || !strings.Contains(errs[0].Message, "longer than") {
			t.Errorf("errors %v, want one at line %d", errs, c.line)
		}
	}
	// Just under the limit reads.
	if _, errs := Parse("Dockerfile", []byte("FROM alpine\nARG A="+strings.Repeat("a", 65000)+"\n"), Options{}); len(errs) != 0 {
		t.Errorf("errors %v", errs)
	}
}
