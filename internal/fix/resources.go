package fix

import (
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/kubeharden/kubeharden/internal/object"
)

// DefaultResources are the values `fix --resources` writes unless the
// configuration gives others: small enough to schedule anywhere, a memory
// limit twice the request, and a CPU limit that throttles only a runaway.
var DefaultResources = Resources{RequestsCPU: "100m", RequestsMemory: "128Mi", LimitsCPU: "500m", LimitsMemory: "256Mi"}

// resources writes the configured requests and limits where the
// resources-requests and resources-limits checks find them missing, each
// value marked with a comment to tune it. A limit is never written below
// the container's own request for that resource, which the API server
// would reject.
func (f *fixer) resources(cs []container) {
	r := f.opts.Resources
	if r == nil {
		return
	}
	type want struct {
		id, section, name, value string
	}
	wants := []want{
		{"resources-requests", "requests", "cpu", r.RequestsCPU},
		{"resources-requests", "requests", "memory", r.RequestsMemory},
		{"resources-limits", "limits", "cpu", r.LimitsCPU},
		{"resources-limits", "limits", "memory", r.LimitsMemory},
	}
	for _, c := range cs {
		if strings.Contains(c.path, ".ephemeralContainers[") {
			continue // ephemeral containers cannot have resources
		}
		res := object.Get(c.node, "resources")
		has := func(section, name string) bool {
			return object.GetStr(object.Get(res, section), name) != ""
		}
		for _, w := range wants {
			if w.value == "" || !f.on(w.id) || has(w.section, w.name) {
				continue
			}
			if w.section == "requests" && has("limits", w.name) {
				continue // the request defaults to the limit
			}
			value, comment := w.value, "# kubeharden: default "+w.section[:len(w.section)-1]+", tune it to the app's measured use"
			if w.section == "limits" && has("requests", w.name) {
				req := object.GetStr(object.Get(res, "requests"), w.name)
				v, ok := atLeast(value, req)
				if !ok {
					f.skip(w.id, c.node.Line, "cannot compare the default "+w.name+" limit "+value+" with the request "+req)
					continue
				}
				if v != value {
					comment = "# kubeharden: the request, as the default limit is lower; tune it to the app's measured use"
				}
				value = v
			}
			rm := ensureMap(c.node, "resources")
			if rm == nil {
				continue
			}
			sm := ensureMap(rm, w.section)
			if sm == nil {
				continue
			}
			v := scalar("!!str", value)
			v.LineComment = comment
			insertKey(sm, w.name, v)
			// Later passes of this loop see the new value.
			res = object.Get(c.node, "resources")
			f.record(w.id, c.path+".resources."+w.section+"."+w.name, false)
		}
	}
}

// atLeast returns def, or req when req is the larger quantity; ok is false
// when either does not parse.
func atLeast(def, req string) (string, bool) {
	d, err := resource.ParseQuantity(def)
	if err != nil {
		return "", false
	}
	r, err := resource.ParseQuantity(req)
	if err != nil {
		return "", false
	}
	if r.Cmp(d) > 0 {
		return req, true
	}
	return def, true
}
