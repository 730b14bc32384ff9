package text

import (
	"bufio"
	"strconv"
	"strings"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/image"
	"github.com/kubeharden/kubeharden/internal/scan"
)

// writeImages describes each inspected image before the findings: what it
// is, how it runs, and what it ships.
func writeImages(bw *bufio.Writer, p painter, imgs []*image.Image, vulns map[string]*vulnCount) {
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
		if c := vulns[img.Ref]; c != nil {
			field("vulns", c.String())
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

// vulnCount is how many image-vulnerability findings an image has, by
// severity, and how many were suppressed.
type vulnCount struct {
	bySeverity [check.Critical + 1]int
	suppressed int
}

func (c *vulnCount) String() string {
	total := 0
	var parts []string
	for s := check.Critical; s >= check.Info; s-- {
		if n := c.bySeverity[s]; n > 0 {
			total += n
			parts = append(parts, strconv.Itoa(n)+" "+s.String())
		}
	}
	out := strconv.Itoa(total)
	if len(parts) > 0 {
		out += " (" + strings.Join(parts, ", ") + ")"
	}
	if c.suppressed > 0 {
		out += ", " + strconv.Itoa(c.suppressed) + " suppressed"
	}
	return out
}

// vulnerabilityCounts counts the image-vulnerability findings of each
// image, by reference; images without any have none.
func vulnerabilityCounts(res *scan.Result) map[string]*vulnCount {
	out := map[string]*vulnCount{}
	add := func(f *check.Finding, suppressed bool) {
		if f.Vulnerability() == nil {
			return
		}
		c := out[f.Location.File]
		if c == nil {
			c = &vulnCount{}
			out[f.Location.File] = c
		}
		if suppressed {
			c.suppressed++
		} else if f.Severity >= check.Info && f.Severity <= check.Critical {
			c.bySeverity[f.Severity]++
		}
	}
	for i := range res.Findings {
		add(&res.Findings[i], false)
	}
	for i := range res.Suppressed {
		add(&res.Suppressed[i], true)
	}
	return out
}
