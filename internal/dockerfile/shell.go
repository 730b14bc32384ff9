package dockerfile

import (
	"errors"
	"fmt"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// Shell scripts (RUN lines, their heredocs) are read with mvdan.cc/sh's
// bash parser, a superset of the POSIX sh that RUN runs by default, so
// that the checks and dockerfix find the same commands with the same
// words.

// Script is a parsed shell script.
type Script struct {
	// Commands are the simple commands in the order they are written,
	// those in lists, pipelines, compound commands and substitutions
	// included.
	Commands []Command
	// Simple reports whether the script is only simple commands joined by
	// &&, ||, ;, | and &: no compound command (if, for, a subshell, a
	// block), negation, redirection, heredoc or comment.
	Simple bool
}

// Command is a simple command: the words after its VAR=value prefixes.
type Command struct {
	// Assigns are the VAR=value prefixes, as written.
	Assigns []Word
	// Args are the command name and its arguments.
	Args []Word
}

// Word is a word of a command.
type Word struct {
	// Value is the word without its quotes; expansions ($VAR, $(cmd)) and
	// escapes are kept as written.
	Value string
	// Plain reports whether the word is one literal of letters, digits
	// and -_./:,+@%= (see PlainChar), written in one piece: every shell
	// passes it on as written, with no quotes, escapes, expansions, globs
	// or line continuations.
	Plain bool
	// Line is the word's first line in the script, 1-based; Start and End
	// are the byte offsets of the word as written in the script.
	Line       int
	Start, End int
}

// ErrShell is wrapped by the errors of a script that does not parse.
var ErrShell = errors.New("shell script does not parse")

// ParseShell parses a shell script.
func ParseShell(script string) (*Script, error) {
	f, err := syntax.NewParser(syntax.Variant(syntax.LangBash), syntax.KeepComments(true)).
		Parse(strings.NewReader(script), "")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrShell, err)
	}
	s := &Script{Simple: simpleStmts(f.Stmts) && len(f.Last) == 0}
	syntax.Walk(f, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.Comment:
			s.Simple = false
		case *syntax.CallExpr:
			if len(n.Args) == 0 {
				return true
			}
			var c Command
			for _, a := range n.Assigns {
				start, end := offset(a.Pos()), offset(a.End())
				if start > end || end > len(script) {
					continue
				}
				c.Assigns = append(c.Assigns, Word{Value: script[start:end], Line: int(a.Pos().Line()), Start: start, End: end})
			}
			for _, w := range n.Args {
				c.Args = append(c.Args, word(script, w))
			}
			s.Commands = append(s.Commands, c)
		}
		return true
	})
	return s, nil
}

// offset is a position's byte offset in the script.
func offset(p syntax.Pos) int { return int(p.Offset()) }

// simpleStmts reports whether statements are simple commands or lists
// and pipelines of them, without redirections.
func simpleStmts(stmts []*syntax.Stmt) bool {
	for _, st := range stmts {
		if !simpleStmt(st) {
			return false
		}
	}
	return true
}

func simpleStmt(st *syntax.Stmt) bool {
	if st == nil || st.Negated || st.Coprocess || len(st.Redirs) > 0 || len(st.Comments) > 0 {
		return false
	}
	switch c := st.Cmd.(type) {
	case *syntax.CallExpr:
		return true
	case *syntax.BinaryCmd:
		switch c.Op {
		case syntax.AndStmt, syntax.OrStmt, syntax.Pipe:
			return simpleStmt(c.X) && simpleStmt(c.Y)
		}
	}
	return false
}

// word reads a word: its value without quotes, and where it is.
func word(script string, w *syntax.Word) Word {
	out := Word{Line: int(w.Pos().Line()), Start: offset(w.Pos()), End: offset(w.End())}
	if out.Start > out.End || out.End > len(script) {
		out.Start, out.End = 0, 0
	}
	var b strings.Builder
	for _, p := range w.Parts {
		unquoted(&b, script, p)
	}
	out.Value = b.String()
	// A literal is plain as written: a\<newline>b is the literal ab.
	if lit := w.Lit(); len(w.Parts) == 1 && lit != "" && out.End-out.Start == len(lit) {
		out.Plain = plainWord(lit) && script[out.Start:out.End] == lit
	}
	return out
}

// unquoted writes a word part without its quotes, expansions as written.
func unquoted(b *strings.Builder, script string, p syntax.WordPart) {
	switch p := p.(type) {
	case *syntax.Lit:
		b.WriteString(p.Value)
	case *syntax.SglQuoted:
		b.WriteString(p.Value)
	case *syntax.DblQuoted:
		for _, q := range p.Parts {
			unquoted(b, script, q)
		}
	default:
		start, end := offset(p.Pos()), offset(p.End())
		if start <= end && end <= len(script) {
			b.WriteString(script[start:end])
		}
	}
}

// plainWord reports whether s is made of PlainChar bytes only.
func plainWord(s string) bool {
	for i := 0; i < len(s); i++ {
		if !PlainChar(s[i]) {
			return false
		}
	}
	return true
}

// PlainChar reports whether c means the same to every shell wherever it
// is in a word: no quoting, expansion, globbing or redirection.
func PlainChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_./:,+@%=", c) >= 0
}

// RunCommands returns the simple commands a RUN runs: for the shell form
// those of its command line and of each heredoc body (which BuildKit runs
// as the script, or hands to the command on standard input, usually a
// shell), each parsed alone; for the exec form the one command of its
// words. A part that does not parse gives no commands and an error
// wrapping ErrShell.
func RunCommands(ins *Instruction) ([]Command, error) {
	if ins.ExecForm {
		if len(ins.Args) == 0 {
			return nil, nil
		}
		c := Command{}
		for _, a := range ins.Args {
			c.Args = append(c.Args, Word{Value: a, Plain: a != "" && plainWord(a)})
		}
		return []Command{c}, nil
	}
	line := strings.Join(ins.Args, " ")
	// The heredocs' bodies follow, parsed alone: the line gets each an
	// empty one, so that its << parse.
	for _, name := range ins.heredocNames {
		line += "\n" + name
	}
	var cmds []Command
	var errs []error
	for i, script := range append([]string{line}, ins.Heredocs...) {
		s, err := ParseShell(script)
		if err != nil {
			if i > 0 {
				err = fmt.Errorf("heredoc %d: %w", i, err)
			}
			errs = append(errs, err)
			continue
		}
		cmds = append(cmds, s.Commands...)
	}
	return cmds, errors.Join(errs...)
}
