package text

import (
	"bufio"
	"strconv"
	"strings"

	"github.com/kubeharden/kubeharden/internal/image"
)

// writeImages describes each inspected image before the findings: what it
// is, how it runs, and what it ships.
func writeImages(bw *bufio.Writer, p painter, imgs []*image.Image) {
	for _, img := range imgs {
		inv := img.Inventory()
		bw.WriteString(p.paint(bold, "image "+clean(img.Ref)))
		bw.WriteString("\n")
		field := func(name, value string) {
			bw.WriteString("  ")
			bw.WriteString(p.paint(faint, name+":"))
			bw.WriteString(strings.Repeat(" ", 13-len(name)))
			bw.WriteString(clean(value))
			bw.WriteString("\n")
		}
		field("digest", img.Digest)
		field("platform", img.OS+"/"+img.Arch)
		user := img.User
		if user == "" {
			user = "(none: root)"
		}
		field("user", user)
		field("entrypoint", quoteArgs(img.Entrypoint))
		field("cmd", quoteArgs(img.Cmd))
		field("layers", strconv.Itoa(img.Layers))
		base := inv.Base
		if inv.BaseDetail != "" {
			base += " (" + inv.BaseDetail + ")"
		}
		field("base", base)
		for _, l := range []struct {
			name  string
			items []string
		}{
			{"shells", inv.Shells}, {"packages", inv.PackageManagers}, {"network", inv.NetworkTools},
			{"fs tools", inv.FSTools}, {"setuid/caps", inv.Setuid},
		} {
			v := "none"
			if len(l.items) > 0 {
				v = strings.Join(l.items, ", ")
			}
			field(l.name, v)
		}
		bw.WriteString("\n")
	}
}

func quoteArgs(args []string) string {
	if len(args) == 0 {
		return "(none)"
	}
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = strconv.Quote(a)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
