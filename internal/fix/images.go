package fix

import (
	"strings"

	"go.yaml.in/yaml/v3"
)

// images pins every container image that has no digest to the digest
// opts.Resolve gives for it, keeping the tag for people to read:
// nginx:1.27 becomes nginx:1.27@sha256:... (seed 003's
// registry/api:v1.0.3@sha256:...). An image that cannot be resolved is
// listed as skipped with the reason.
func (f *fixer) images(cs []container) {
	if f.opts.Resolve == nil || !f.on("image-digest") {
		return
	}
	for _, c := range cs {
		i := keyIndex(c.node, "image")
		if i < 0 {
			continue // merged from an anchor, or missing: left as written
		}
		n := c.node.Content[i+1]
		if n.Kind != yaml.ScalarNode || n.Value == "" || strings.Contains(n.Value, "@") {
			continue
		}
		ref := n.Value
		d, err := f.opts.Resolve(ref)
		if err != nil {
			f.skip("image-digest", n.Line, err.Error())
			continue
		}
		v := scalar("!!str", ref+"@"+d)
		v.Style = n.Style &^ yaml.FlowStyle
		v.HeadComment, v.LineComment, v.FootComment = n.HeadComment, n.LineComment, n.FootComment
		c.node.Content[i+1] = v
		f.record("image-digest", c.path+".image", false)
	}
}

// skip records a finding left alone.
func (f *fixer) skip(id string, line int, reason string) {
	f.skipped = append(f.skipped, Skipped{Check: id, Object: f.obj.String(), Line: f.lineOffset + line, Reason: reason})
}
