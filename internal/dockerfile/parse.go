package dockerfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/kubeharden/kubeharden/internal/limits"
)

// Options control parsing.
type Options struct {
	// Target names the final stage; "" means the last stage.
	Target string
	// BuildArgs override ARG defaults, as --build-arg does.
	BuildArgs map[string]string
	// ExpansionSize bounds, in bytes, every value ARG and ENV expansion
	// builds, and the bytes that expansion adds in the whole file
	// (limits.Limits.ExpansionSize; 0 means its default). Past it the
	// word is kept as written, with an error at its line.
	ExpansionSize int
}

// Error is a parse error at a line (0 when unknown).
type Error struct {
	Line    int
	Message string
	// Err is the cause when it is one to match with errors.Is or
	// errors.As (a *limits.Exceeded), else nil.
	Err error
}

func (e Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Message)
	}
	return e.Message
}

// Unwrap returns the cause.
func (e Error) Unwrap() error { return e.Err }

// expanded lists the instructions whose arguments BuildKit expands with
// the stage's ARGs and ENVs (instructions.SupportsSingleWordExpansion),
// besides ENV and LABEL, which are expanded pair by pair.
// RUN, CMD and ENTRYPOINT are left to the shell at run time.
var expanded = map[string]bool{
	"add": true, "copy": true, "expose": true,
	"stopsignal": true, "user": true, "volume": true, "workdir": true,
}

// Parse reads a Dockerfile. It returns nil and errors when the file cannot
// be parsed at all; otherwise a File, with errors for what it could not
// read (an unknown --target, a bad instruction).
//
// ARGs and ENVs are resolved as BuildKit resolves them, with one
// difference: a variable that has no value (an ARG without default or
// --build-arg) is left as written ($VERSION) rather than made empty, so
// that checks see that the value is decided at build time.
func Parse(path string, data []byte, opts Options) (*File, []Error) {
	res, err := parser.Parse(bytes.NewReader(validUTF8(data)))
	if err != nil {
		e := toError(err, 0)
		if l := directiveErrorLine(data, e.Message); l > 0 {
			e.Line = l
		}
		if l := longLine(data); l > 0 {
			// BuildKit stops at the line, and reports the line before it,
			// or "file with no instructions" when there is none.
			e = Error{Line: l, Message: fmt.Sprintf("line longer than the %d bytes BuildKit reads in one line", bufio.MaxScanTokenSize-1)}
		}
		return nil, []Error{e}
	}
	l := limits.Limits{ExpansionSize: opts.ExpansionSize}.WithDefaults()
	p := &parseState{
		f:     &File{Path: path, Ignores: map[int]map[string]string{}},
		opts:  opts,
		lex:   shell.NewLex(res.EscapeToken),
		meta:  vars{},
		limit: l,
	}
	for _, n := range res.AST.Children {
		p.node(n)
	}
	f := p.f
	if len(f.Stages) == 0 {
		return nil, append(p.errs, Error{Message: "no FROM instruction: the Dockerfile builds nothing"})
	}
	f.Final = f.Stages[len(f.Stages)-1]
	if opts.Target != "" {
		if s := p.stageNamed(opts.Target, len(f.Stages)); s != nil {
			f.Final = s
		} else {
			p.errs = append(p.errs, Error{Message: fmt.Sprintf("target stage %q not found; checking the last stage", opts.Target)})
		}
	}
	p.ignores(data, res.AST.Children)
	sort.SliceStable(p.errs, func(i, j int) bool { return p.errs[i].Line < p.errs[j].Line })
	return f, p.errs
}

type parseState struct {
	f    *File
	opts Options
	errs []Error
	lex  *shell.Lex
	// meta holds the global ARGs, which only FROM lines see.
	meta vars
	cur  *Stage
	// args and env are the current stage's ARGs and ENVs; env is
	// inherited by stages that build FROM it, args are not.
	args, env vars
	// stageEnv keeps each stage's ENVs at its end, by stage index.
	stageEnv []vars
	limit    limits.Limits
	// expanded is the bytes expansion added so far; past the limit,
	// expansion stops (expansionOff) so that one error is reported.
	expanded     int64
	expansionOff bool
}

func (p *parseState) errorf(line int, format string, args ...any) {
	p.errs = append(p.errs, Error{Line: line, Message: fmt.Sprintf(format, args...)})
}

func (p *parseState) node(n *parser.Node) {
	ins := &Instruction{
		Cmd:      strings.ToLower(n.Value),
		Original: n.Original,
		Line:     n.StartLine,
		EndLine:  n.EndLine,
		ExecForm: n.Attributes["json"],
		Flags:    append([]string(nil), n.Flags...),
	}
	for a := n.Next; a != nil; a = a.Next {
		ins.Args = append(ins.Args, a.Value)
	}
	for _, h := range n.Heredocs {
		ins.Heredocs = append(ins.Heredocs, h.Content)
		ins.heredocNames = append(ins.heredocNames, h.Name)
	}
	typed, err := instructions.ParseInstruction(n)
	if err != nil {
		p.errs = append(p.errs, toError(err, n.StartLine))
		typed = nil
	}
	if ins.Cmd == "from" {
		p.from(ins, typed)
		return
	}
	if p.cur == nil {
		if ins.Cmd != "arg" {
			p.errorf(ins.Line, "instruction %s comes before the first FROM", strings.ToUpper(ins.Cmd))
			return
		}
		p.f.MetaArgs = append(p.f.MetaArgs, ins)
		if c, ok := typed.(*instructions.ArgCommand); ok {
			p.arg(ins.Line, c, p.meta, p.meta, nil)
		}
		return
	}
	env := p.stageVars()
	switch c := typed.(type) {
	case *instructions.ArgCommand:
		p.arg(ins.Line, c, p.args, env, p.meta)
	case *instructions.EnvCommand:
		// The parser's nodes are key, value, delimiter triples: Args
		// become key=value, expanded with the ENVs before this one.
		ins.Args = ins.Args[:0]
		for _, kv := range c.Env {
			k, v := p.expand(ins.Line, kv.Key, env), p.expand(ins.Line, kv.Value, env)
			p.env[k] = v
			ins.Args = append(ins.Args, k+"="+v)
		}
	case *instructions.LabelCommand:
		ins.Args = ins.Args[:0]
		for _, kv := range c.Labels {
			ins.Args = append(ins.Args, p.expand(ins.Line, kv.Key, env)+"="+p.expand(ins.Line, kv.Value, env))
		}
	default:
		if expanded[ins.Cmd] {
			for i, a := range ins.Args {
				ins.Args[i] = p.expand(ins.Line, a, env)
			}
		}
	}
	p.cur.Instructions = append(p.cur.Instructions, ins)
}

// from starts a stage. Its base and platform are expanded with the global
// ARGs only, as BuildKit does.
func (p *parseState) from(ins *Instruction, typed any) {
	s := &Stage{Index: len(p.f.Stages), From: ins}
	var base string
	if st, ok := typed.(*instructions.Stage); ok {
		base, s.Name, s.Platform = st.BaseName, st.Name, st.Platform
	} else if len(ins.Args) > 0 {
		base = ins.Args[0]
	}
	base = p.expand(ins.Line, base, p.meta)
	if s.Platform != "" {
		s.Platform = p.expand(ins.Line, s.Platform, p.meta)
	}
	p.env = vars{}
	if b := p.stageNamed(base, s.Index); b != nil {
		s.BaseStage = b
		for k, v := range p.stageEnv[b.Index] {
			p.env[k] = v
		}
	} else {
		s.Base = base
	}
	if len(ins.Args) > 0 {
		ins.Args[0] = base
	}
	p.args = vars{}
	p.cur = s
	p.f.Stages = append(p.f.Stages, s)
	p.stageEnv = append(p.stageEnv, p.env)
}

// stageNamed finds one of the first n stages by name (stage names are
// case-insensitive) or by index.
func (p *parseState) stageNamed(name string, n int) *Stage {
	if name == "" {
		return nil
	}
	if i, err := strconv.Atoi(name); err == nil && strconv.Itoa(i) == name {
		if i >= 0 && i < n {
			return p.f.Stages[i]
		}
		return nil
	}
	for _, s := range p.f.Stages[:n] {
		if s.Name != "" && strings.EqualFold(s.Name, name) {
			return s
		}
	}
	return nil
}

// arg declares ARGs in scope: a --build-arg wins, then the default
// (expanded with env), then, inside a stage, the global ARG of the same
// name. An ARG with none of them stays unset.
func (p *parseState) arg(line int, c *instructions.ArgCommand, scope, env, global vars) {
	for _, kv := range c.Args {
		if v, ok := p.opts.BuildArgs[kv.Key]; ok {
			scope[kv.Key] = v
			continue
		}
		if kv.Value != nil {
			scope[kv.Key] = p.expand(line, *kv.Value, env)
			continue
		}
		if v, ok := global[kv.Key]; ok {
			scope[kv.Key] = v
		}
	}
}

// stageVars is what an instruction of the current stage sees: its ARGs,
// overridden by its ENVs (an ENV always wins over an ARG of the same name).
func (p *parseState) stageVars() vars {
	v := make(vars, len(p.args)+len(p.env))
	for k, x := range p.args {
		v[k] = x
	}
	for k, x := range p.env {
		v[k] = x
	}
	return v
}

// expand substitutes variables in word; on a bad substitution it records
// an error and returns word as written.
//
// Expansion is bounded: each value doubling the last, forty ARG lines
// reach terabytes. A word whose expansion could pass the expansion size
// limit is not expanded (its bound is computed from the values it names,
// before BuildKit builds anything), and once expansion has added that
// limit's bytes in the file, later words are kept as written. Both are
// errors at the word's line.
func (p *parseState) expand(line int, word string, env vars) string {
	if p.expansionOff {
		return word
	}
	max := int64(p.limit.ExpansionSize)
	if b := expansionBound(word, env); b > max {
		p.expansionError(line, word, fmt.Sprintf("its value could reach %d bytes, which", b))
		return word
	}
	out := p.substitute(line, word, env)
	if int64(len(out)) > max {
		p.expansionError(line, word, "its value")
		return word
	}
	if grown := int64(len(out) - len(word)); grown > 0 {
		if p.expanded += grown; p.expanded > max {
			p.expansionError(line, word, fmt.Sprintf("expansion in this Dockerfile would then have added %d bytes in all, which", p.expanded))
			p.expansionOff = true
			return word
		}
	}
	return out
}

func (p *parseState) expansionError(line int, word, what string) {
	err := p.limit.ExpansionSizeExceeded()
	p.errs = append(p.errs, Error{Line: line, Err: err,
		Message: fmt.Sprintf("not expanding %s: %s %v", shorten(word), what, err)})
}

// shorten quotes a word for a message, cut when long.
func shorten(word string) string {
	if len(word) > 60 {
		return strconv.Quote(word[:57]) + "..."
	}
	return strconv.Quote(word)
}

func (p *parseState) substitute(line int, word string, env vars) string {
	// As BuildKit, then keep plain references to unset variables as
	// written; ${X:-default} still takes its default.
	p.lex.SkipUnsetEnv = false
	out, unmatched, err := p.lex.ProcessWord(word, env)
	if err != nil {
		p.errorf(line, "expanding %s: %s", shorten(word), errorMessage(err))
		return word
	}
	for name := range unmatched {
		if plainRef(word, name) {
			p.lex.SkipUnsetEnv = true
			if kept, _, err := p.lex.ProcessWord(word, env); err == nil {
				return kept
			}
			break
		}
	}
	return out
}

// expansionBound is at least the length of word expanded with env by
// BuildKit's lexer: the word, plus the value of every variable it names
// ($X, ${X}, ${X...}; a default or alternative is part of the word), the
// whole multiplied, for each pattern substitution ${X/p/r} or ${X//p/r},
// by len(X)+2, since r may replace every character of X. Names are found
// as the lexer finds them; escaped or quoted ones are counted too.
func expansionBound(word string, env vars) int64 {
	total, mult := int64(len(word)), int64(1)
	for i := 0; i < len(word); i++ {
		if word[i] != '$' {
			continue
		}
		j := i + 1
		brace := j < len(word) && word[j] == '{'
		if brace {
			j++
		}
		name, end := varName(word, j)
		v, ok := env[name]
		if name == "" || !ok {
			continue
		}
		total = satAdd(total, valueBound(v))
		if brace && end < len(word) && word[end] == '/' {
			mult = satMul(mult, int64(len(v))+2)
		}
	}
	return satMul(total, mult)
}

// valueBound is at most what the lexer makes of value v: its length, or
// three times that when v is not valid UTF-8, since a pattern operation
// on runes turns each invalid byte into U+FFFD (three bytes). Parse's
// own values are valid (validUTF8), but the bound must not rest on it.
func valueBound(v string) int64 {
	if utf8.ValidString(v) {
		return int64(len(v))
	}
	return 3 * int64(len(v))
}

// varName reads a variable name at word[i:] as BuildKit's lexer does
// (processName): digits, or one special parameter, or letters, digits
// and underscores. It returns the name and the offset after it.
func varName(word string, i int) (string, int) {
	start := i
	if i >= len(word) {
		return "", i
	}
	if c := word[i]; c >= '0' && c <= '9' {
		for i < len(word) && word[i] >= '0' && word[i] <= '9' {
			i++
		}
		return word[start:i], i
	}
	if strings.IndexByte("@*#?-$!0", word[i]) >= 0 {
		return word[i : i+1], i + 1
	}
	for i < len(word) {
		r, size := utf8.DecodeRuneInString(word[i:])
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' {
			break
		}
		i += size
	}
	return word[start:i], i
}

func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

func satMul(a, b int64) int64 {
	if a != 0 && b > math.MaxInt64/a {
		return math.MaxInt64
	}
	return a * b
}

// longLine returns the first line BuildKit's line scanner cannot read
// (longer than bufio.MaxScanTokenSize with its newline), 0 when none is.
func longLine(data []byte) int {
	for line := 1; len(data) > 0; line++ {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			i = len(data) - 1
		}
		if i+1 > bufio.MaxScanTokenSize-1 {
			return line
		}
		data = data[i+1:]
	}
	return 0
}

// directiveRE is a parser directive line, as BuildKit reads it.
var directiveRE = regexp.MustCompile(`^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`)

// directiveErrorLine returns the line of the parser directive a BuildKit
// error is about, which BuildKit does not give (0 when it is about none):
// an invalid escape directive, or a directive given twice.
func directiveErrorLine(data []byte, msg string) int {
	want, nth := "", 1
	switch {
	case strings.HasPrefix(msg, "invalid escape token"):
		want = "escape"
	case strings.HasPrefix(msg, "only one ") && strings.HasSuffix(msg, " parser directive can be used"):
		want, nth = strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(msg, "only one "), " parser directive can be used")), 2
	default:
		return 0
	}
	text := strings.TrimPrefix(string(data), "\ufeff")
	for i, line := range strings.Split(text, "\n") {
		m := directiveRE.FindStringSubmatch(strings.TrimLeft(strings.TrimRight(line, "\r"), " \t"))
		if m == nil {
			return 0
		}
		if strings.ToLower(m[1]) == want {
			if nth--; nth == 0 {
				return i + 1
			}
		}
	}
	return 0
}

// plainRef reports whether word refers to name as $name or ${name}.
func plainRef(word, name string) bool {
	if strings.Contains(word, "${"+name+"}") {
		return true
	}
	for i := 0; ; {
		j := strings.Index(word[i:], "$"+name)
		if j < 0 {
			return false
		}
		end := i + j + 1 + len(name)
		if end == len(word) || !isNameChar(word[end]) {
			return true
		}
		i = end
	}
}

func isNameChar(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// ignoreRE matches `# kubeharden:ignore=<check-id>[,<check-id>...] <reason>`.
var ignoreRE = regexp.MustCompile(`^#\s*kubeharden:ignore(?:=(\S*))?(?:\s+(.*))?$`)

// ignores reads the suppression comments: those in the block of comment
// lines directly above an instruction apply to it.
func (p *parseState) ignores(data []byte, nodes []*parser.Node) {
	lines := strings.Split(strings.TrimPrefix(string(data), "\ufeff"), "\n")
	covered := map[int]bool{}
	for _, n := range nodes {
		for l := n.StartLine; l <= n.EndLine && l-n.StartLine < len(lines); l++ {
			covered[l] = true
		}
	}
	line := func(l int) string {
		if l < 1 || l > len(lines) {
			return ""
		}
		return strings.TrimSpace(lines[l-1])
	}
	attached := map[int]bool{}
	for _, n := range nodes {
		for l := n.StartLine - 1; l >= 1 && !covered[l] && strings.HasPrefix(line(l), "#"); l-- {
			m := ignoreRE.FindStringSubmatch(line(l))
			if m == nil {
				continue
			}
			attached[l] = true
			ids, reason := m[1], strings.TrimSpace(m[2])
			if ids == "" {
				p.errorf(l, "ignore comment names no check: write # kubeharden:ignore=<check-id> <reason>")
				continue
			}
			for _, id := range strings.Split(ids, ",") {
				if id == "" {
					continue
				}
				if reason == "" {
					p.errorf(l, "ignore comment for %s gives no reason", id)
					continue
				}
				if p.f.Ignores[n.StartLine] == nil {
					p.f.Ignores[n.StartLine] = map[string]string{}
				}
				p.f.Ignores[n.StartLine][id] = reason
			}
		}
	}
	for i := range lines {
		l := i + 1
		if !covered[l] && !attached[l] && ignoreRE.MatchString(line(l)) {
			p.errorf(l, "ignore comment is not directly above an instruction, so it suppresses nothing")
		}
	}
}

// vars is a scope of variables for the shell lexer.
type vars map[string]string

func (v vars) Get(k string) (string, bool) { x, ok := v[k]; return x, ok }

func (v vars) Keys() []string {
	out := make([]string, 0, len(v))
	for k := range v {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// toError converts a BuildKit error, taking its line when it has one.
func toError(err error, line int) Error {
	var le *parser.LocationError
	if errors.As(err, &le) {
		for _, r := range le.Locations {
			if len(r) > 0 && r[0].Start.Line > 0 {
				line = r[0].Start.Line
				break
			}
		}
	}
	return Error{Line: line, Message: errorMessage(err)}
}

// errorMessage is the error's text without the stack and location
// wrappers of BuildKit's errors.
func errorMessage(err error) string {
	msg := err.Error()
	if msg == "" {
		return "invalid Dockerfile"
	}
	return msg
}

// validUTF8 returns data with each byte of an invalid UTF-8 sequence
// replaced by '?', keeping every offset and line: BuildKit's word lexer
// (text/scanner without an error handler) would print to standard error
// on invalid UTF-8, and a library must stay silent.
func validUTF8(data []byte) []byte {
	if utf8.Valid(data) {
		return data
	}
	out := make([]byte, 0, len(data))
	for len(data) > 0 {
		r, size := utf8.DecodeRune(data)
		if r == utf8.RuneError && size <= 1 {
			out = append(out, '?')
			data = data[1:]
			continue
		}
		out = append(out, data[:size]...)
		data = data[size:]
	}
	return out
}
