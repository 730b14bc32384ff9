// Package dockerfix rewrites a Dockerfile so that the fixable Dockerfile
// checks stop reporting: the final stage gets a numeric high USER,
// CMD and ENTRYPOINT get the exec form, base images get a digest (seed
// 003's hardened Dockerfile is the model).
//
// It edits lines, never the whole file: every line it neither replaces
// nor inserts keeps its bytes (comments, blank lines, CRLF endings,
// continuation lines, heredocs, parser directives, a missing final
// newline). It rewrites only what it can show to be safe and lists every
// other finding as skipped, with the reason. Which findings to fix is not
// guessed: the checks themselves run on the file, and after the edits
// they run again on the result, which must parse as the original did and
// no longer show the fixed findings; when it does not, nothing is
// changed.
package dockerfix

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/check/dockerfilecheck"
	"github.com/kubeharden/kubeharden/internal/checks"
	"github.com/kubeharden/kubeharden/internal/dockerfile"
	"github.com/kubeharden/kubeharden/internal/fix"
)

// Fixable lists the Dockerfile check IDs this package fixes.
var Fixable = []string{"dockerfile-user", "dockerfile-user-high-uid", "dockerfile-exec-form", "dockerfile-base-digest"}

const (
	idUser     = "dockerfile-user"
	idHighUID  = "dockerfile-user-high-uid"
	idExecForm = "dockerfile-exec-form"
	idDigest   = "dockerfile-base-digest"
)

// errInternal marks a panic turned into an error: a bug, never an input
// problem.
var errInternal = errors.New("internal error")

// Dockerfile fixes data (a Dockerfile named path, for messages). It
// returns the new bytes (data itself when nothing changed), the fixes
// applied, the findings left alone with the reason, or an error naming the
// line when the file does not parse (then nothing is returned).
//
// The findings fixed are those the checks report with opts' parameters
// (MinUID, MaxUID), limited to opts.Checks, and not suppressed by a
// `# kubeharden:ignore=<check-id>` comment on the reported instruction.
func Dockerfile(path string, data []byte, opts fix.Options) (out []byte, applied []fix.Applied, skipped []fix.Skipped, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, applied, skipped, err = nil, nil, nil, fmt.Errorf("%w: cannot fix: %v", errInternal, r)
			if e, ok := r.(error); ok {
				err = fmt.Errorf("%w: cannot fix: %w", errInternal, e)
			}
		}
	}()
	if opts.UID == 0 {
		opts.UID = fix.DefaultID
	}
	if opts.GID == 0 {
		opts.GID = fix.DefaultID
	}
	f, errs := dockerfile.Parse(path, data, dockerfile.Options{})
	if f == nil {
		e := dockerfile.Error{Message: "invalid Dockerfile"}
		if len(errs) > 0 {
			e = errs[0]
		}
		return nil, nil, nil, e
	}
	fx := &fixer{
		path:   path,
		f:      f,
		opts:   opts,
		params: params(opts),
		lines:  splitLines(data),
	}
	fx.ed = newEdits(fx.lines)
	fx.escape = '\\'
	if res, err := parser.Parse(bytes.NewReader(data)); err == nil {
		fx.escape = res.EscapeToken
	}
	for _, e := range errs {
		if e.Line > 0 {
			fx.errLines = append(fx.errLines, e)
		}
	}
	fx.covered = coveredLines(f)
	fx.run()
	if !fx.ed.changed() {
		return data, nil, fx.skipped, nil
	}
	out = fx.ed.render()
	if why := fx.verify(errs, out); why != "" {
		// A bug or an input this package does not understand: leave the
		// file alone rather than write something unproven.
		for i, a := range fx.applied {
			fx.skip(a.Check, a.Object, fx.appliedLines[i], "the rewrite did not verify ("+why+"), so the file is left as written")
		}
		return data, nil, fx.skipped, nil
	}
	if bytes.Equal(out, data) {
		return data, nil, fx.skipped, nil
	}
	return out, fx.applied, fx.skipped, nil
}

// params are the checks' parameters of opts' policy.
func params(opts fix.Options) check.Params {
	if opts.Policy == nil {
		return check.DefaultParams()
	}
	return *opts.Policy.Params()
}

// fixer is the state of one run.
type fixer struct {
	path    string
	f       *dockerfile.File
	opts    fix.Options
	params  check.Params
	lines   []line
	ed      *edits
	covered map[int]bool

	applied []fix.Applied
	// appliedLines are the reported lines of the fixes, for the skips of
	// a rewrite that does not verify.
	appliedLines []int
	skipped      []fix.Skipped
	resolved     map[string]resolution
	// escape is the escape character, \ or ` (# escape=`).
	escape rune
	// found are the findings of the fixable checks on the original.
	found []check.Finding
	// errLines are the parse errors that name a line.
	errLines []dockerfile.Error
}

// findings runs the fixable checks on f.
func findings(f *dockerfile.File, params check.Params) []check.Finding {
	var out []check.Finding
	var run []*dockerfilecheck.Check
	for _, c := range dockerfilecheck.Of(checks.Registry()) {
		if slices.Contains(Fixable, c.ID) {
			run = append(run, c)
		}
	}
	dockerfilecheck.Run(run, f, f.Path, &params, func(fd check.Finding) { out = append(out, fd) })
	return out
}

// run fixes the findings to fix, in this order: digests on FROM lines,
// the final stage's USER, CMD and ENTRYPOINT.
func (fx *fixer) run() {
	var user *check.Finding
	var exec []check.Finding
	fx.found = findings(fx.f, fx.params)
	for _, fd := range fx.found {
		if !fx.wanted(fd) {
			continue
		}
		switch fd.Check {
		case idDigest:
			fx.digest(fd)
		case idUser, idHighUID:
			if user == nil {
				user = &fd
			}
		case idExecForm:
			exec = append(exec, fd)
		}
	}
	if user != nil {
		fx.user(*user)
	}
	for _, fd := range exec {
		fx.execForm(fd)
	}
}

// wanted reports whether a finding is to be fixed: its check is selected
// and not suppressed on the reported instruction.
func (fx *fixer) wanted(fd check.Finding) bool {
	if fx.opts.Checks != nil && !fx.opts.Checks[fd.Check] {
		return false
	}
	if _, ignored := fx.f.Ignores[fd.Location.Line][fd.Check]; ignored {
		return false
	}
	// Config exemptions: a path or check exemption covers the Dockerfile.
	return fx.opts.Policy == nil || fx.opts.Policy.Counts(&fd, nil, "")
}

func (fx *fixer) apply(id, object, path string, line int, risky bool) {
	risk := ""
	if risky {
		risk = dockerfileRisk(id)
	}
	fx.applied = append(fx.applied, fix.Applied{Check: id, Object: object, Path: path, Risky: risky, Risk: risk})
	fx.appliedLines = append(fx.appliedLines, line)
}

func (fx *fixer) skip(id, object string, line int, reason string) {
	fx.skipped = append(fx.skipped, fix.Skipped{Check: id, Object: object, Line: line, Reason: reason})
}

// verify re-reads the rewritten file and returns what is wrong with it,
// or "": it must parse with the same errors as the original, hold the
// original instructions plus the inserted ones, and show none of the
// fixed findings.
func (fx *fixer) verify(errs []dockerfile.Error, out []byte) string {
	f2, errs2 := dockerfile.Parse(fx.path, out, dockerfile.Options{})
	if f2 == nil {
		msg := "it does not parse"
		if len(errs2) > 0 {
			msg += ": " + errs2[0].Error()
		}
		return msg
	}
	if got, want := countInstructions(f2), countInstructions(fx.f)+fx.ed.inserted; got != want {
		return fmt.Sprintf("it has %d instructions, not %d", got, want)
	}
	if !slices.Equal(messages(errs), messages(errs2)) {
		return "it parses with other errors than the original"
	}
	// Findings are counted by check and path: stages may share a name.
	count := func(fs []check.Finding, ignores map[int]map[string]string) map[string]int {
		m := map[string]int{}
		for _, fd := range fs {
			if _, ignored := ignores[fd.Location.Line][fd.Check]; !ignored {
				m[fd.Check+" "+fd.Path]++
				m[fd.Check]++
			}
		}
		return m
	}
	before, after := count(fx.found, fx.f.Ignores), count(findings(f2, fx.params), f2.Ignores)
	fixed := map[string]int{}
	for _, a := range fx.applied {
		if a.Check == idUser || a.Check == idHighUID {
			// The finding may move from a base stage's USER or the FROM
			// line to the new USER: neither check may report anything.
			if after[idUser] > 0 || after[idHighUID] > 0 {
				return "the final stage still does not run as a high numeric UID"
			}
			continue
		}
		key := a.Check + " " + a.Path
		fixed[key]++
		if after[key] > before[key]-fixed[key] {
			return a.Check + " still reports " + a.Path
		}
	}
	return ""
}

func countInstructions(f *dockerfile.File) int {
	n := len(f.MetaArgs)
	for _, s := range f.Stages {
		n += 1 + len(s.Instructions)
	}
	return n
}

// messages are the parse errors without their lines, which move when
// lines are inserted, and without BuildKit's suggestions, which it picks
// at random among equals ("did you mean add?" or "arg?"), sorted.
func messages(errs []dockerfile.Error) []string {
	out := make([]string, 0, len(errs))
	for _, e := range errs {
		msg, _, _ := strings.Cut(e.Message, " (did you mean ")
		out = append(out, msg)
	}
	slices.Sort(out)
	return out
}

// coveredLines marks the lines that belong to an instruction
// (continuations and heredocs included).
func coveredLines(f *dockerfile.File) map[int]bool {
	m := map[int]bool{}
	mark := func(ins *dockerfile.Instruction) {
		for l := ins.Line; l <= ins.EndLine; l++ {
			m[l] = true
		}
	}
	for _, a := range f.MetaArgs {
		mark(a)
	}
	for _, s := range f.Stages {
		mark(s.From)
		for _, ins := range s.Instructions {
			mark(ins)
		}
	}
	return m
}

// broken returns the parse error of an instruction, "" when it has
// none: an instruction that does not parse is left as written.
func (fx *fixer) broken(ins *dockerfile.Instruction) string {
	for _, e := range fx.errLines {
		if e.Line >= ins.Line && e.Line <= ins.EndLine {
			return fmt.Sprintf("line %d does not parse (%s): fix it first", e.Line, e.Message)
		}
	}
	return ""
}

// text is the text of line l (1-based).
func (fx *fixer) text(l int) string {
	if l < 1 || l > len(fx.lines) {
		return ""
	}
	return fx.lines[l-1].text
}

// commentsInside reports whether an instruction has comment or blank
// lines between its first and last line: replacing it as a whole would
// drop them.
func (fx *fixer) commentsInside(ins *dockerfile.Instruction) bool {
	if len(ins.Heredocs) > 0 {
		return true
	}
	for l := ins.Line + 1; l <= ins.EndLine; l++ {
		t := strings.TrimSpace(fx.text(l))
		if t == "" || strings.HasPrefix(t, "#") {
			return true
		}
	}
	return false
}

// replaceInstruction replaces an instruction's lines with one line: its
// indentation and keyword as written, then args. It refuses when the
// keyword is not where BuildKit reads it, when comment or blank lines
// inside the instruction would be lost, or when the lines overlap another
// edit.
func (fx *fixer) replaceInstruction(ins *dockerfile.Instruction, args string) bool {
	indent, kw := lineParts(fx.text(ins.Line))
	if !strings.EqualFold(kw, ins.Cmd) || fx.commentsInside(ins) {
		return false
	}
	return fx.ed.replace(ins.Line-1, ins.EndLine-1, indent+kw+" "+args)
}

// commentBlockStart is the first line of the comment lines directly
// above line l, which belong to the instruction there (an ignore comment
// among them suppresses its findings): l itself when there are none.
func (fx *fixer) commentBlockStart(l int) int {
	for l > 1 && !fx.covered[l-1] && strings.HasPrefix(strings.TrimSpace(fx.text(l-1)), "#") {
		l--
	}
	return l
}

// joinsAt reports whether a line inserted before line l would join an
// instruction above it: the last line above that is neither blank nor a
// comment ends with a line continuation (BuildKit skips blank and comment
// lines inside continuations). That happens only at the end of a file.
func (fx *fixer) joinsAt(l int) (int, bool) {
	for l--; l >= 1; l-- {
		t := strings.TrimSpace(fx.text(l))
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		return l, strings.HasSuffix(t, string(fx.escape))
	}
	return 0, false
}

// dockerfileRisk says what a risky Dockerfile fix changes, for a person
// to test.
func dockerfileRisk(id string) string {
	switch id {
	case idUser, idHighUID:
		return "a new user: the image may expect root or its own user, and files it owns may no longer be writable"
	case idExecForm:
		return "exec form: the command no longer runs through a shell"
	}
	return strings.ReplaceAll(id, "-", " ")
}
