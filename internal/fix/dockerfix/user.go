package dockerfix

import (
	"fmt"
	"strings"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/dockerfile"
)

// The USER fix (dockerfile-user, dockerfile-user-high-uid) edits the final
// stage only: other stages build, they do not run, and a stage the final
// one builds FROM may be built on its own.
//
// When the final stage runs as root (no USER, or USER root or 0, its own
// or a base stage's), a numeric USER <UID>:<GID> is added, numeric so
// that the kubelet can verify runAsNonRoot. It goes where a person would
// put it:
//   - right after the stage's last RUN (a RUN that installs packages
//     needs root) or after its last USER, whichever comes last; a
//     trailing USER root with no RUN after it is replaced instead, unless
//     the user-creation RUN below goes after it;
//   - with neither, before the first CMD or ENTRYPOINT, above the comment
//     lines that belong to it (an ignore comment there stays with its
//     instruction);
//   - otherwise after the stage's last instruction.
//
// On an official Alpine or Debian-family base (see userDistro) the USER
// comes after a RUN that creates the user and group "app" with those IDs,
// as seed 003 does, so that the process has a name and a group in
// /etc/passwd; on any other base (distroless, scratch, an unknown image)
// the USER is written alone, which the runtime accepts. The RUN is left
// out when the Dockerfile already creates an "app" user or group, when a
// SHELL instruction changes the shell, and on Alpine when an ID is above
// 256000, the limit of Alpine's BusyBox.
//
// When the final stage runs as a name or a low UID (the high-uid check):
//   - USER nonroot on a distroless or Chainguard base becomes
//     65532:65532, the number that name has in those images;
//   - a user the final stage creates (see editAccount) keeps its name and
//     gets the configured UID, its group the configured GID, in the RUN
//     that creates them, and USER becomes numeric: files chowned to the
//     name follow it;
//   - otherwise USER is replaced by the numeric UID:GID, or, when a base
//     stage sets it, a USER is added as above; these fixes are Risky:
//     files owned by the old user (its home, a chown in the base image or
//     in a base stage) are no longer the process's.

// user fixes the finding fd of dockerfile-user or dockerfile-user-high-uid.
func (fx *fixer) user(fd check.Finding) {
	final := fx.f.Final
	obj, path := final.Ref(), final.Ref()+".USER"
	line := fd.Location.Line
	uid, gid := fx.opts.UID, fx.opts.GID
	if !fx.params.UIDAllowed(uid) {
		fx.skip(fd.Check, obj, line, fmt.Sprintf("the UID to set, %d, is outside the allowed range %s", uid, fx.params.UIDRange()))
		return
	}
	if gid < 0 {
		fx.skip(fd.Check, obj, line, fmt.Sprintf("the GID to set, %d, is negative", gid))
		return
	}
	value := fmt.Sprintf("%d:%d", uid, gid)
	st, ins := final.Effective("user")
	if ins != nil && st == final {
		if why := fx.broken(ins); why != "" {
			fx.skip(fd.Check, obj, line, why)
			return
		}
	}
	if fd.Check == idHighUID && ins != nil && fx.nonrootName(ins) {
		value = fmt.Sprintf("%d:%d", dockerfile.NonrootID, dockerfile.NonrootID)
		if st == final {
			if fx.replaceInstruction(ins, value) {
				fx.apply(fd.Check, obj, path, line, false)
			} else {
				fx.skip(fd.Check, obj, line, "USER has comment lines inside its continuation or overlaps another edit: write USER 65532:65532 by hand")
			}
			return
		}
		fx.addUser(fd, value, false, false)
		return
	}
	if fd.Check == idHighUID && ins != nil && st == final {
		if fx.editAccount(ins, uid, gid) {
			fx.apply(fd.Check, obj, path, line, false)
			return
		}
		if fx.replaceInstruction(ins, value) {
			fx.apply(fd.Check, obj, path, line, true)
		} else {
			fx.skip(fd.Check, obj, line, "USER has comment lines inside its continuation or overlaps another edit: write USER "+value+" by hand")
		}
		return
	}
	// Root, a base stage's user, or the base image's: a USER is added.
	// The process is root at the anchor only for dockerfile-user.
	fx.addUser(fd, value, fd.Check == idUser, fd.Check == idHighUID)
}

// addUser adds USER value to the final stage (see the placement rules
// above), after a RUN creating the user when create is set and the base
// is known.
func (fx *fixer) addUser(fd check.Finding, value string, create, risky bool) {
	final := fx.f.Final
	obj, path := final.Ref(), final.Ref()+".USER"
	after, before, style := fx.userAnchor(final)
	indent, kw := lineParts(fx.text(style.Line))
	indent = plainIndent(indent)
	if style == final.From {
		indent = ""
	}
	var add []string
	if create {
		if run := fx.creation(final); run != "" {
			add = append(add, indent+keywordCase("RUN", kw)+" "+run)
		}
	}
	if after != nil && after.Cmd == "user" && len(add) == 0 {
		// A trailing USER root: nothing after it needs root.
		if fx.replaceInstruction(after, value) {
			fx.apply(fd.Check, obj, path, fd.Location.Line, risky)
		} else {
			fx.skip(fd.Check, obj, fd.Location.Line, "USER has comment lines inside its continuation or overlaps another edit: write USER "+value+" by hand")
		}
		return
	}
	if l, joins := fx.joinsAt(before); joins {
		fx.skip(fd.Check, obj, fd.Location.Line, fmt.Sprintf("line %d ends with a line continuation, so a USER after it would join it", l))
		return
	}
	add = append(add, indent+keywordCase("USER", kw)+" "+value)
	fx.ed.insertBefore(before-1, add...)
	fx.apply(fd.Check, obj, path, fd.Location.Line, risky)
}

// userAnchor finds where the new USER goes in the final stage: after the
// instruction after (the last RUN or USER, or the last instruction), or,
// when after is nil, before line before (the comments above the first
// CMD or ENTRYPOINT). style is the instruction whose indentation and
// keyword case the new lines take.
func (fx *fixer) userAnchor(s *dockerfile.Stage) (after *dockerfile.Instruction, before int, style *dockerfile.Instruction) {
	for _, ins := range s.Instructions {
		if ins.Cmd == "run" || ins.Cmd == "user" {
			after = ins
		}
	}
	if after != nil {
		return after, after.EndLine + 1, after
	}
	for _, ins := range s.Instructions {
		if ins.Cmd == "cmd" || ins.Cmd == "entrypoint" {
			return nil, fx.commentBlockStart(ins.Line), ins
		}
	}
	after = s.From
	if n := len(s.Instructions); n > 0 {
		after = s.Instructions[n-1]
	}
	return after, after.EndLine + 1, after
}

// creation returns the command of the RUN that creates the user "app"
// with the configured IDs on the final stage's base, or "" when the base
// is not known or the RUN would not be safe (see the rules above).
func (fx *fixer) creation(final *dockerfile.Stage) string {
	root := final.Root()
	if !root.FromImage() {
		return ""
	}
	for _, st := range final.Chain() {
		for _, ins := range st.Instructions {
			if ins.Cmd == "shell" {
				return ""
			}
		}
	}
	if nameTaken(final, "app") {
		return ""
	}
	uid, gid := fx.opts.UID, fx.opts.GID
	switch userDistro(root.Base) {
	case alpine:
		if uid > busyboxLastID || gid > busyboxLastID {
			return ""
		}
		// Seed 003's line, with the IDs: a system user without password,
		// home or login shell, in its own group.
		return fmt.Sprintf("addgroup -S -g %d app && adduser -S -D -H -u %d -G app -s /sbin/nologin app", gid, uid)
	case debian:
		return fmt.Sprintf("groupadd --system --gid %d app && useradd --system --uid %d --gid %d --no-create-home --shell /usr/sbin/nologin app", gid, uid, gid)
	}
	return ""
}

// busyboxLastID is the highest UID or GID Alpine's BusyBox adduser and
// addgroup accept (CONFIG_LAST_ID in aports' main/busybox/busyboxconfig;
// upstream's default is 60000, but BusyBox's commands are only written
// and edited on Alpine bases).
const busyboxLastID = 256000

// accountCommands create users and groups.
var accountCommands = map[string]bool{"adduser": true, "useradd": true, "addgroup": true, "groupadd": true}

// nameTaken reports whether a RUN of the stage or of the stages it builds
// on creates a user or group called name, or writes it into /etc/passwd.
func nameTaken(s *dockerfile.Stage, name string) bool {
	for _, st := range s.Chain() {
		for _, ins := range st.Instructions {
			if ins.Cmd != "run" {
				continue
			}
			script := strings.Join(append(append([]string(nil), ins.Args...), ins.Heredocs...), "\n")
			if strings.Contains(script, name+":x:") {
				return true
			}
			cmds, err := dockerfile.RunCommands(ins)
			if err != nil && strings.Contains(script, name) {
				return true // a script the parser cannot read may create it
			}
			for _, c := range cmds {
				if len(c.Args) == 0 || !accountCommands[baseName(c.Args[0].Value)] {
					continue
				}
				for _, w := range c.Args[1:] {
					if w.Value == name {
						return true
					}
				}
			}
		}
	}
	return false
}

// nonrootName reports whether a USER names distroless's or Chainguard's
// nonroot user on such a base, and 65532 is allowed.
func (fx *fixer) nonrootName(ins *dockerfile.Instruction) bool {
	if len(ins.Args) == 0 || strings.Contains(ins.Original, "$") || !fx.params.UIDAllowed(dockerfile.NonrootID) {
		return false
	}
	user, group, _ := strings.Cut(ins.Args[0], ":")
	if user != "nonroot" || group != "" && group != "nonroot" {
		return false
	}
	root := fx.f.Final.Root()
	return root.FromImage() && nonrootBase(root.Base)
}

func baseName(cmd string) string {
	return cmd[strings.LastIndexByte(cmd, '/')+1:]
}
