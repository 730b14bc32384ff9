package dockerfix

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/kubeharden/kubeharden/internal/dockerfile"
)

// word is a plain word of a RUN script, with its place: the 1-based line
// and the byte offsets in that line's text.
type word struct {
	text       string
	line       int
	start, end int
}

// plainScript reads a shell-form RUN into its simple commands' words,
// with their places in the file. ok is false unless the script is plain:
// simple commands joined by &&, ||, ;, | and & (see
// dockerfile.Script.Simple), every word plain (see dockerfile.Word.Plain),
// no heredoc, and no comment or blank line inside the continuation. The
// RUN's --flags are dropped.
func (fx *fixer) plainScript(ins *dockerfile.Instruction) (cmds [][]word, ok bool) {
	if ins.Cmd != "run" || ins.ExecForm || len(ins.Heredocs) > 0 || fx.broken(ins) != "" {
		return nil, false
	}
	// The script is the instruction's lines as written, the keyword
	// blanked, so that offsets in it are offsets in the lines.
	var b strings.Builder
	starts := []int{}
	for l := ins.Line; l <= ins.EndLine; l++ {
		t := fx.text(l)
		if l == ins.Line {
			indent, kw := lineParts(t)
			if !strings.EqualFold(kw, "run") {
				return nil, false
			}
			t = strings.Repeat(" ", len(indent)+len(kw)) + t[len(indent)+len(kw):]
		}
		if l < ins.EndLine && !strings.HasSuffix(strings.TrimRight(t, " \t"), `\`) {
			return nil, false // a comment or blank line inside
		}
		starts = append(starts, b.Len())
		b.WriteString(t)
		b.WriteByte('\n')
	}
	script, err := dockerfile.ParseShell(b.String())
	if err != nil || !script.Simple {
		return nil, false
	}
	for i, c := range script.Commands {
		if len(c.Assigns) > 0 {
			return nil, false
		}
		var ws []word
		for _, w := range c.Args {
			if !w.Plain || w.Line < 1 || w.Line > len(starts) {
				return nil, false
			}
			off := starts[w.Line-1]
			ws = append(ws, word{text: w.Value, line: ins.Line + w.Line - 1, start: w.Start - off, end: w.End - off})
		}
		if i == 0 {
			for len(ws) > 0 && strings.HasPrefix(ws[0].text, "--") {
				ws = ws[1:]
			}
		}
		cmds = append(cmds, ws)
	}
	return cmds, true
}

// optKind is what an option of an account command means.
type optKind int

const (
	optFlag   optKind = iota
	optValue          // an option with a value that does not matter here
	optID             // -u/--uid of a user, -g/--gid of a group
	optGroup          // the primary group of a user: adduser -G, useradd -g
	optSystem         // a system account: BusyBox's adduser then uses nogroup
)

type optSpec struct {
	short map[byte]optKind
	long  map[string]optKind
	// busybox commands are BusyBox's, whose options differ from Debian's
	// adduser and addgroup.
	busybox bool
	user    bool
	// idFlag is the option added when the command sets no ID.
	idFlag string
}

func (k optKind) takesValue() bool { return k == optValue || k == optID || k == optGroup }

// accountSpecs are the options of BusyBox's adduser and addgroup and of
// shadow's useradd and groupadd. An option not listed makes the command
// one this package does not edit (useradd -D, for one, changes defaults).
var accountSpecs = map[string]optSpec{
	"adduser": {
		short: map[byte]optKind{'h': optValue, 'g': optValue, 's': optValue, 'G': optGroup, 'u': optID, 'k': optValue,
			'D': optFlag, 'S': optSystem, 'H': optFlag},
		long: map[string]optKind{"home": optValue, "gecos": optValue, "shell": optValue, "ingroup": optGroup, "uid": optID,
			"skel": optValue, "disabled-password": optFlag, "empty-password": optFlag, "system": optSystem, "no-create-home": optFlag},
		busybox: true, user: true, idFlag: "-u",
	},
	"addgroup": {
		short:   map[byte]optKind{'g': optID, 'S': optSystem},
		long:    map[string]optKind{"gid": optID, "system": optSystem},
		busybox: true, idFlag: "-g",
	},
	"useradd": {
		short: map[byte]optKind{'b': optValue, 'c': optValue, 'd': optValue, 'e': optValue, 'f': optValue, 'g': optGroup,
			'G': optValue, 'k': optValue, 'K': optValue, 'p': optValue, 'R': optValue, 'P': optValue, 's': optValue,
			'u': optID, 'Z': optValue, 'l': optFlag, 'm': optFlag, 'M': optFlag, 'N': optFlag, 'o': optFlag,
			'r': optSystem, 'U': optFlag},
		long: map[string]optKind{"base-dir": optValue, "comment": optValue, "home-dir": optValue, "expiredate": optValue,
			"inactive": optValue, "gid": optGroup, "groups": optValue, "skel": optValue, "key": optValue,
			"password": optValue, "root": optValue, "prefix": optValue, "shell": optValue, "uid": optID,
			"selinux-user": optValue, "no-log-init": optFlag, "create-home": optFlag, "no-create-home": optFlag,
			"no-user-group": optFlag, "non-unique": optFlag, "user-group": optFlag, "system": optSystem,
			"btrfs-subvolume-home": optFlag},
		user: true, idFlag: "--uid",
	},
	"groupadd": {
		short: map[byte]optKind{'g': optID, 'K': optValue, 'p': optValue, 'R': optValue, 'P': optValue, 'U': optValue,
			'f': optFlag, 'o': optFlag, 'r': optSystem},
		long: map[string]optKind{"gid": optID, "key": optValue, "password": optValue, "root": optValue, "prefix": optValue,
			"users": optValue, "force": optFlag, "non-unique": optFlag, "system": optSystem},
		idFlag: "--gid",
	},
}

// span is a value inside a word: its text and its offsets in the line.
type span struct {
	text       string
	line       int
	start, end int
}

// account is a command that creates a user or a group.
type account struct {
	spec optSpec
	// at orders accounts: the instruction's index in the stage, then the
	// command's index in the script.
	at      [2]int
	cmdWord word
	name    string
	id      *span
	group   string
	system  bool
}

// parseAccount reads an account command (its words after the command
// name). ok is false for a command it cannot read; create is false for
// one that adds a user to a group rather than creating one.
func parseAccount(spec optSpec, args []word) (a account, create, ok bool) {
	a.spec = spec
	var pos []word
	seen := map[optKind]bool{}
	set := func(k optKind, v *span) bool {
		if seen[k] && (k == optID || k == optGroup) {
			return false // given twice: which one wins is the tool's business
		}
		seen[k] = true
		switch k {
		case optID:
			a.id = v
		case optGroup:
			a.group = v.text
		case optSystem:
			a.system = true
		}
		return true
	}
	for i := 0; i < len(args); i++ {
		w := args[i]
		switch {
		case w.text == "--":
			pos = append(pos, args[i+1:]...)
			i = len(args)
		case strings.HasPrefix(w.text, "--"):
			name, val, hasVal := strings.Cut(w.text[2:], "=")
			k, known := spec.long[name]
			if !known {
				return a, false, false
			}
			var v *span
			switch {
			case k.takesValue() && hasVal:
				v = &span{text: val, line: w.line, start: w.start + 3 + len(name), end: w.end}
			case k.takesValue():
				if i+1 >= len(args) {
					return a, false, false
				}
				i++
				v = &span{text: args[i].text, line: args[i].line, start: args[i].start, end: args[i].end}
			case hasVal:
				return a, false, false
			}
			if !set(k, v) {
				return a, false, false
			}
		case strings.HasPrefix(w.text, "-") && len(w.text) > 1:
			for j := 1; j < len(w.text); j++ {
				k, known := spec.short[w.text[j]]
				if !known {
					return a, false, false
				}
				if !k.takesValue() {
					if !set(k, nil) {
						return a, false, false
					}
					continue
				}
				var v *span
				if j+1 < len(w.text) {
					v = &span{text: w.text[j+1:], line: w.line, start: w.start + j + 1, end: w.end}
				} else {
					if i+1 >= len(args) {
						return a, false, false
					}
					i++
					v = &span{text: args[i].text, line: args[i].line, start: args[i].start, end: args[i].end}
				}
				if !set(k, v) {
					return a, false, false
				}
				break
			}
		default:
			pos = append(pos, w)
		}
	}
	switch {
	case len(pos) == 1:
		a.name = pos[0].text
		return a, true, true
	case len(pos) == 2 && spec.busybox && len(seen) == 0:
		return a, false, true // adduser USER GROUP, addgroup USER GROUP
	}
	return a, false, false
}

// editAccount makes the final stage's USER ins numeric by giving the user
// it names (or the low UID it sets) the configured UID, and its primary
// group the configured GID, in the RUN that creates them. It changes
// nothing and returns false unless all of this holds:
//   - every RUN of the final stage that mentions adduser, useradd,
//     addgroup or groupadd is plain (see plainScript), so that no account
//     is created out of sight, and every such command is one it can read;
//   - exactly one command creates the user, before the USER: by name, or
//     by its -u value for a numeric USER;
//   - its primary group is known and created there too: adduser -G or
//     useradd -g names a group an addgroup or groupadd of the stage
//     creates before it (that command gets the GID); or a BusyBox adduser
//     without -G or -S makes a group of its own with GID = UID, so the
//     configured IDs must be equal. (BusyBox's adduser -S without -G
//     uses nogroup, and shadow's useradd without -g depends on
//     USERGROUPS_ENAB: both left to the risky rewrite);
//   - a group in USER (name:group) is that group;
//   - the old UID and GID, when the commands set them, appear nowhere
//     else in the Dockerfile (a chown by number would no longer match);
//   - BusyBox's commands run on an Alpine base and the IDs are within
//     BusyBox's limit.
func (fx *fixer) editAccount(ins *dockerfile.Instruction, uid, gid int64) bool {
	final := fx.f.Final
	if len(ins.Args) == 0 || strings.Contains(ins.Original, "$") || fx.commentsInside(ins) {
		return false
	}
	userName, userGroup, _ := strings.Cut(ins.Args[0], ":")
	_, numericErr := strconv.ParseInt(userName, 10, 64)
	numeric := numericErr == nil
	root := final.Root()
	busybox := root.FromImage() && busyboxBase(root.Base)
	userAt := -1
	var users, groups []account
	for idx, run := range final.Instructions {
		if run == ins {
			userAt = idx
		}
		if run.Cmd != "run" {
			continue
		}
		script := strings.Join(append(append([]string(nil), run.Args...), run.Heredocs...), "\n")
		mentions := false
		for c := range accountSpecs {
			if strings.Contains(script, c) {
				mentions = true
			}
		}
		if !mentions {
			continue
		}
		cmds, ok := fx.plainScript(run)
		if !ok {
			return false
		}
		for seg, words := range cmds {
			if len(words) == 0 {
				continue
			}
			if spec, isAccount := accountSpecs[baseName(words[0].text)]; isAccount {
				a, create, ok := parseAccount(spec, words[1:])
				if !ok || spec.busybox && !busybox {
					return false
				}
				a.at, a.cmdWord = [2]int{idx, seg}, words[0]
				if create && spec.user {
					users = append(users, a)
				} else if create {
					groups = append(groups, a)
				}
			}
		}
	}
	var user *account
	for i, a := range users {
		match := a.name == userName
		if numeric {
			match = a.id != nil && sameNumber(a.id.text, userName)
		}
		if match {
			if user != nil {
				return false
			}
			user = &users[i]
		}
	}
	if user == nil || userAt < 0 || user.at[0] >= userAt {
		return false
	}
	if user.spec.busybox && (uid > busyboxLastID || gid > busyboxLastID) {
		return false
	}
	var group *account
	switch {
	case user.group != "":
		for i, g := range groups {
			if g.name == user.group && less(g.at, user.at) {
				if group != nil {
					return false
				}
				group = &groups[i]
			}
		}
		if group == nil || group.spec.busybox && (uid > busyboxLastID || gid > busyboxLastID) {
			return false
		}
		if userGroup != "" && userGroup != group.name && (group.id == nil || !sameNumber(group.id.text, userGroup)) {
			return false
		}
	case user.spec.busybox && !user.system:
		// A group of its own, named after the user, with GID = UID.
		if uid != gid || userGroup != "" && userGroup != user.name && (user.id == nil || !sameNumber(user.id.text, userGroup)) {
			return false
		}
	default:
		return false
	}
	// The old IDs must not be used by number elsewhere.
	userLines := map[int]bool{}
	for l := ins.Line; l <= ins.EndLine; l++ {
		userLines[l] = true
	}
	own := map[string]int{}
	for _, a := range []*account{user, group} {
		if a == nil || a.id == nil {
			continue
		}
		if _, err := strconv.ParseInt(a.id.text, 10, 64); err != nil {
			return false
		}
		own[a.id.text]++
	}
	for n, k := range own {
		if fx.numberUses(n, userLines) > k {
			return false
		}
	}
	var splices []splice
	splices = append(splices, idSplice(user, uid))
	if group != nil {
		splices = append(splices, idSplice(group, gid))
	}
	byLine := map[int][]splice{}
	for _, s := range splices {
		byLine[s.line] = append(byLine[s.line], s)
	}
	for l := range byLine {
		if fx.ed.inside[l-1] {
			return false
		}
	}
	if _, kw := lineParts(fx.text(ins.Line)); !strings.EqualFold(kw, "user") {
		return false
	}
	for l := ins.Line; l <= ins.EndLine; l++ {
		if fx.ed.inside[l-1] {
			return false
		}
	}
	for l, ss := range byLine {
		sort.Slice(ss, func(i, j int) bool { return ss[i].start > ss[j].start })
		t := fx.text(l)
		for _, s := range ss {
			t = t[:s.start] + s.text + t[s.end:]
		}
		fx.ed.replace(l-1, l-1, t)
	}
	return fx.replaceInstruction(ins, fmt.Sprintf("%d:%d", uid, gid))
}

// splice replaces bytes start..end of a line with text.
type splice struct {
	line, start, end int
	text             string
}

// idSplice sets an account's ID: its value replaced, or the option added
// after the command name.
func idSplice(a *account, id int64) splice {
	v := strconv.FormatInt(id, 10)
	if a.id != nil {
		return splice{line: a.id.line, start: a.id.start, end: a.id.end, text: v}
	}
	w := a.cmdWord
	return splice{line: w.line, start: w.end, end: w.end, text: fmt.Sprintf(" %s %s", a.spec.idFlag, v)}
}

// numberUses counts the places of the file where n appears as a number
// (not part of a longer one), outside the given lines.
func (fx *fixer) numberUses(n string, except map[int]bool) int {
	count := 0
	for i, l := range fx.lines {
		if except[i+1] {
			continue
		}
		t := l.text
		for off := 0; ; {
			j := strings.Index(t[off:], n)
			if j < 0 {
				break
			}
			s, e := off+j, off+j+len(n)
			if (s == 0 || !isDigit(t[s-1])) && (e == len(t) || !isDigit(t[e])) {
				count++
			}
			off = e
		}
	}
	return count
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func sameNumber(a, b string) bool {
	x, err1 := strconv.ParseInt(a, 10, 64)
	y, err2 := strconv.ParseInt(b, 10, 64)
	return err1 == nil && err2 == nil && x == y
}

func less(a, b [2]int) bool { return a[0] < b[0] || a[0] == b[0] && a[1] < b[1] }
