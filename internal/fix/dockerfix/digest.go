package dockerfix

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/dockerfile"
)

// The digest fix (dockerfile-base-digest) runs only with opts.Resolve. A
// FROM on an image without a digest gets the digest Resolve gives for the
// reference as written, appended to it: FROM python:3.9-alpine3.15 AS app
// becomes FROM python:3.9-alpine3.15@sha256:... AS app, every other byte
// of the line (flags, the stage name, the keywords' case) kept.
//
// Skipped, with the reason:
//   - a reference written with a variable (FROM golang:${GO_VERSION}, FROM
//     $BASE): even when BuildKit gives the variable a value, appending a
//     digest would pin every value --build-arg may choose to this one
//     image (with both, the digest wins and the tag is ignored), and the
//     ARG's default may serve other lines: the digest belongs where the
//     value is set;
//   - a reference written other than the parser reads it (quoted,
//     escaped), or with a digest that is not sha256, or a FROM that spans
//     several lines;
//   - an error of Resolve, or a digest that is not sha256:<64 hex>.

var digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// digest fixes one dockerfile-base-digest finding.
func (fx *fixer) digest(fd check.Finding) {
	if fx.opts.Resolve == nil {
		return
	}
	var st *dockerfile.Stage
	for _, s := range fx.f.Stages {
		if s.From.Line == fd.Location.Line && s.Ref()+".FROM" == fd.Path {
			st = s
		}
	}
	if st == nil || !st.FromImage() {
		return
	}
	obj := st.Ref()
	skip := func(format string, args ...any) {
		fx.skip(idDigest, obj, st.From.Line, fmt.Sprintf(format, args...))
	}
	if why := fx.broken(st.From); why != "" {
		skip("%s", why)
		return
	}
	if st.From.EndLine != st.From.Line {
		skip("FROM spans several lines: add the digest by hand")
		return
	}
	text := fx.text(st.From.Line)
	if _, kw := lineParts(text); !strings.EqualFold(kw, "from") {
		skip("cannot find FROM on line %d: add the digest by hand", st.From.Line)
		return
	}
	start, end := imageToken(text)
	ref := text[start:end]
	switch {
	case strings.Contains(ref, "$"):
		value := ""
		if st.Base != ref && !strings.Contains(st.Base, "$") {
			value = fmt.Sprintf(" (%s by default)", st.Base)
		}
		skip("base image %q%s is chosen by a build argument: pin the digest where its value is set, since a digest added here would override every value --build-arg gives", ref, value)
		return
	case ref != st.Base:
		skip("base image is written %q, which reads as %q: add the digest by hand", ref, st.Base)
		return
	case strings.Contains(ref, "@"):
		skip("base image %q has a digest that is not sha256:<64 hex digits>: replace it by hand", ref)
		return
	}
	d, err := fx.resolve(ref)
	if err != nil {
		skip("%s", err.Error())
		return
	}
	if !digestRE.MatchString(d) {
		skip("the digest found for %q, %q, is not sha256:<64 hex digits>", ref, d)
		return
	}
	if !fx.ed.replace(st.From.Line-1, st.From.Line-1, text[:end]+"@"+d+text[end:]) {
		skip("FROM overlaps another edit")
		return
	}
	fx.apply(idDigest, obj, fd.Path, st.From.Line, false)
}

// resolve asks opts.Resolve once per reference.
func (fx *fixer) resolve(ref string) (string, error) {
	if r, ok := fx.resolved[ref]; ok {
		return r.digest, r.err
	}
	d, err := fx.opts.Resolve(ref)
	if fx.resolved == nil {
		fx.resolved = map[string]resolution{}
	}
	fx.resolved[ref] = resolution{d, err}
	return d, err
}

type resolution struct {
	digest string
	err    error
}

// imageToken finds the image of a FROM line: the first word after the
// keyword that is not a --flag.
func imageToken(text string) (start, end int) {
	indent, kw := lineParts(text)
	i := len(indent) + len(kw)
	for {
		for i < len(text) && asciiSpace(text[i]) {
			i++
		}
		j := i
		for j < len(text) && !asciiSpace(text[j]) {
			j++
		}
		if !strings.HasPrefix(text[i:j], "--") || j == i {
			return i, j
		}
		i = j
	}
}
