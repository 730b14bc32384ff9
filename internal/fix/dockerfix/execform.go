package dockerfix

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/dockerfile"
)

// The exec-form fix (dockerfile-exec-form) rewrites the CMD or ENTRYPOINT
// the check reports (the final stage's, or the one it inherits from a base
// stage) as a JSON array only when the shell would have run the same
// argv: the command is plain words (see plainChar) split at blanks, so
// CMD python3 app.py becomes CMD ["python3", "app.py"]. Anything the
// shell interprets (variables, quotes, globs, redirections, pipes and
// operators, backslashes, subshells, comments, ~, a VAR=value prefix, a
// shell builtin or keyword) is skipped with the reason: only a person can
// tell whether the shell is needed. A leading exec is dropped, since the
// exec form already runs the program as PID 1.
//
// A CMD under an exec-form ENTRYPOINT of the Dockerfile is rewritten but
// marked Risky: it is the entrypoint's arguments, which become the words
// instead of /bin/sh -c "<command>". (An ENTRYPOINT the base image sets is
// not known here.)
//
// Also skipped: a command after a SHELL instruction (another shell, other
// rules), an instruction with comment lines inside its continuation
// (replacing it as a whole would drop them), and a shell-form ENTRYPOINT
// when the image has a CMD: the shell form ignores CMD, the exec form
// would pass it to the program as arguments. (Arguments given at run time,
// docker run IMAGE ARGS or a pod's args, are likewise ignored before the
// fix and passed after it.)

// shellBuiltins are the words that start a command only a shell can run:
// builtins without a program of their own, and keywords.
var shellBuiltins = map[string]bool{
	"cd": true, "export": true, "set": true, "unset": true, "source": true, ".": true, "eval": true,
	"ulimit": true, "umask": true, "trap": true, "wait": true, "shift": true, "read": true, "alias": true,
	"readonly": true, "local": true, "return": true, "exit": true, "break": true, "continue": true,
	"command": true, "type": true, "hash": true, "times": true, "getopts": true, "builtin": true,
	"let": true, "declare": true, "typeset": true, "jobs": true, "fg": true, "bg": true, "exec": true,
	"if": true, "then": true, "else": true, "elif": true, "fi": true, "for": true, "while": true,
	"until": true, "do": true, "done": true, "case": true, "esac": true, "in": true, "function": true,
	"select": true, "time": true, "coproc": true,
}

// execForm fixes one dockerfile-exec-form finding.
func (fx *fixer) execForm(fd check.Finding) {
	st, ins := fx.reported(fd)
	if ins == nil {
		return
	}
	obj, kw := st.Ref(), strings.ToUpper(ins.Cmd)
	skip := func(format string, args ...any) {
		fx.skip(idExecForm, obj, ins.Line, fmt.Sprintf(format, args...))
	}
	if why := fx.broken(ins); why != "" {
		skip("%s", why)
		return
	}
	if shell := fx.shellBefore(st, ins); shell != nil {
		skip("SHELL on line %d changes the shell: rewrite %s by hand", shell.Line, kw)
		return
	}
	if ins.Cmd == "entrypoint" {
		if cmd := fx.cmdWith(st); cmd != nil {
			skip("the image also has the CMD on line %d, which the shell form ignores and the exec form would pass to the entrypoint as arguments", cmd.Line)
			return
		}
	}
	if fx.commentsInside(ins) {
		skip("%s has comment or blank lines inside its continuation, which a rewrite would drop: rewrite it by hand", kw)
		return
	}
	argv, why := shellWords(strings.Join(ins.Args, " "))
	if why != "" {
		skip("%s", why)
		return
	}
	if !fx.replaceInstruction(ins, jsonArray(argv)) {
		skip("cannot find %s on line %d, or it overlaps another edit: rewrite it by hand", kw, ins.Line)
		return
	}
	// Under an exec-form ENTRYPOINT the CMD is its arguments, which change
	// from /bin/sh -c "<command>" to the words: a wrapper such as tini
	// runs the same program, but one that looks at its first argument
	// (docker-entrypoint.sh scripts do) may take another path.
	_, ep := fx.f.Final.Effective("entrypoint")
	risky := ins.Cmd == "cmd" && ep != nil && ep.ExecForm
	fx.apply(idExecForm, obj, fd.Path, ins.Line, risky)
}

// reported finds the CMD or ENTRYPOINT of a finding in the final stage's
// chain.
func (fx *fixer) reported(fd check.Finding) (*dockerfile.Stage, *dockerfile.Instruction) {
	for _, st := range fx.f.Final.Chain() {
		for _, ins := range st.Instructions {
			if ins.Line == fd.Location.Line && (ins.Cmd == "cmd" || ins.Cmd == "entrypoint") &&
				st.Ref()+"."+strings.ToUpper(ins.Cmd) == fd.Path {
				return st, ins
			}
		}
	}
	return nil, nil
}

// shellBefore returns a SHELL instruction in effect at ins: in its stage
// before it, or in a stage it builds on.
func (fx *fixer) shellBefore(st *dockerfile.Stage, ins *dockerfile.Instruction) *dockerfile.Instruction {
	for _, s := range st.Chain() {
		for _, x := range s.Instructions {
			if s == st && x == ins {
				break
			}
			if x.Cmd == "shell" {
				return x
			}
		}
	}
	return nil
}

// cmdWith returns a CMD the final image has along with the ENTRYPOINT of
// stage st: one of st (before or after the ENTRYPOINT: only a base
// image's or base stage's CMD is reset by it) or of a stage between st
// and the final one.
func (fx *fixer) cmdWith(st *dockerfile.Stage) *dockerfile.Instruction {
	for _, s := range fx.f.Final.Chain() {
		for _, x := range s.Instructions {
			if x.Cmd == "cmd" {
				return x
			}
		}
		if s == st {
			break
		}
	}
	return nil
}

// shellSpecial are the bytes the shell interprets.
const shellSpecial = "$\\`\"'|&;<>(){}[]*?~#!\n\r"

// shellWords splits a shell-form command into the argv the shell would
// run, or says why it cannot. The words are the shell parser's, once no
// byte of shell syntax is left (see syntaxAt, which names it).
func shellWords(cmd string) (argv []string, why string) {
	if strings.TrimSpace(cmd) == "" {
		return nil, "the command is empty"
	}
	if strings.HasPrefix(strings.TrimSpace(cmd), "[") {
		return nil, "it starts like a JSON array but is not valid JSON, so a shell runs it: correct the array"
	}
	if why := syntaxAt(cmd); why != "" {
		return nil, why
	}
	script, err := dockerfile.ParseShell(cmd)
	if err != nil || !script.Simple || len(script.Commands) != 1 {
		// Plain bytes that are not one simple command start with a
		// keyword: if, for, time...
		first := strings.Fields(cmd)[0]
		if strings.Contains(first, "=") {
			return nil, varPrefix(first) // FOO=bar alone
		}
		return nil, fmt.Sprintf("starts with %s, which only a shell can run", first)
	}
	c := script.Commands[0]
	if len(c.Assigns) > 0 {
		return nil, varPrefix(c.Assigns[0].Value)
	}
	for _, w := range c.Args {
		argv = append(argv, w.Value)
	}
	if argv[0] == "exec" && len(argv) > 1 {
		argv = argv[1:]
	}
	if strings.Contains(argv[0], "=") {
		return nil, varPrefix(argv[0])
	}
	if shellBuiltins[argv[0]] {
		return nil, fmt.Sprintf("starts with %s, which only a shell can run", argv[0])
	}
	return argv, ""
}

// varPrefix says why a command that sets a variable is not rewritten.
func varPrefix(assign string) string {
	return fmt.Sprintf(`uses shell syntax (%s sets a variable for the command); write it as ["sh", "-c", "..."] or use ENV`, assign)
}

// syntaxAt says why cmd is not plain words: the construct at its first
// byte of shell syntax, or the first byte no shell reads as written.
func syntaxAt(cmd string) string {
	for i := 0; i < len(cmd); i++ {
		c := cmd[i]
		if dockerfile.PlainChar(c) || c == ' ' || c == '\t' {
			continue
		}
		if strings.IndexByte(shellSpecial, c) >= 0 {
			return fmt.Sprintf(`uses shell syntax (%s); write it as ["sh", "-c", "..."] only if a shell is needed`, construct(cmd, i))
		}
		r, _ := utf8.DecodeRuneInString(cmd[i:])
		return fmt.Sprintf("contains %q, which this fixer does not rewrite: rewrite it by hand", r)
	}
	return ""
}

// construct names the shell syntax at cmd[i]: a variable ($PORT,
// ${PORT}), a substitution, an operator, or the character.
func construct(cmd string, i int) string {
	rest := cmd[i:]
	switch cmd[i] {
	case '$':
		switch {
		case strings.HasPrefix(rest, "${"):
			if j := strings.IndexByte(rest, '}'); j > 0 {
				return rest[:j+1]
			}
			return "${"
		case strings.HasPrefix(rest, "$("):
			return "$(...)"
		}
		j := 1
		for j < len(rest) && (rest[j] == '_' || rest[j] >= 'a' && rest[j] <= 'z' || rest[j] >= 'A' && rest[j] <= 'Z' || rest[j] >= '0' && rest[j] <= '9') {
			j++
		}
		if j == 1 && len(rest) > 1 {
			_, n := utf8.DecodeRuneInString(rest[1:])
			j += n
		}
		return rest[:j]
	case '&', '|', '<', '>':
		j := 1
		for j < len(rest) && j < 2 && strings.IndexByte("&|<>", rest[j]) >= 0 {
			j++
		}
		return rest[:j]
	case '\n', '\r':
		return "a line break"
	}
	return rest[:1]
}

// jsonArray writes argv as a JSON array, `["python3", "app.py"]`.
func jsonArray(argv []string) string {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, a := range argv {
		if i > 0 {
			b.WriteString(", ")
		}
		var s bytes.Buffer
		enc := json.NewEncoder(&s)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(a) // a string always encodes
		b.Write(bytes.TrimRight(s.Bytes(), "\n"))
	}
	b.WriteByte(']')
	return b.String()
}
