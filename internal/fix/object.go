package fix

import (
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/object"
	"github.com/kubeharden/kubeharden/internal/scan"
	"github.com/kubeharden/kubeharden/internal/source"
	"github.com/kubeharden/kubeharden/internal/yamledit"
)

var timeZero time.Time

// sortFixes orders fixes as they are applied: by Fix.Order, then by ID.
// The order decides where new keys land, so that output is stable.
func sortFixes(fs []*check.ObjectCheck) {
	sort.SliceStable(fs, func(i, j int) bool {
		if fs[i].Fix.Order != fs[j].Fix.Order {
			return fs[i].Fix.Order < fs[j].Fix.Order
		}
		return fs[i].ID < fs[j].ID
	})
}

// mayFix reports whether a fix applies to o at all.
func (fx *Fixer) mayFix(o *object.Object) bool {
	for _, c := range fx.fixes {
		if c.Applies == nil || c.Applies(o) {
			return true
		}
	}
	return false
}

// Object fixes one object in memory: it edits o.Node in place and returns
// the changes made and the findings left alone. Each fixable check with
// findings on o gets them; the checks then run again on the result, and a
// fix that leaves a finding it did not explain, or makes the object
// invalid, is undone and reported as skipped. The mutating webhook calls
// it; Manifest calls it for every object of a file.
func (fx *Fixer) Object(o *object.Object) ([]Applied, []Skipped) {
	return fx.object(o, func() *yaml.Node { return yamledit.Clone(o.Node) })
}

// object is Object with the tree as it was before the fixes, made only
// when a fix must be undone (callers that hold a pristine copy pass it).
func (fx *Fixer) object(o *object.Object, pristine func() *yaml.Node) ([]Applied, []Skipped) {
	var applicable []*check.ObjectCheck
	for _, c := range fx.fixes {
		if c.Applies == nil || c.Applies(o) {
			applicable = append(applicable, c)
		}
	}
	if len(applicable) == 0 {
		return nil, nil
	}
	before := fx.engine.ObjectWith(o, nil, applicable)
	found := byCheck(before.Findings)
	var todo []*check.ObjectCheck
	for _, c := range applicable {
		if len(found[c.ID]) > 0 {
			todo = append(todo, c)
		}
	}
	if len(todo) == 0 {
		return nil, nil
	}
	// Fast path: every fix, one verification.
	var all []outcome
	for _, c := range todo {
		all = append(all, fx.apply(o, c, found[c.ID]))
	}
	after := fx.engine.ObjectWith(fresh(o), nil, todo)
	if verdict(all, byCheck(after.Findings), before.Errors, after.Errors) {
		return collect(all)
	}
	// Some fix failed: undo, and apply the fixes one by one, each proved
	// on its own, and a refused one again container by container.
	*o.Node = *pristine()
	var kept []outcome
	for _, c := range todo {
		kept = append(kept, fx.proved(o, c)...)
	}
	return collect(kept)
}

// proved applies c's fix to o and keeps it only when verdict accepts it.
// A refused fix is tried again for the findings of each container (and of
// the pod itself) apart, so that one container that cannot be fixed (a
// privileged one, for allow-privilege-escalation) does not keep the fix
// from the others.
func (fx *Fixer) proved(o *object.Object, c *check.ObjectCheck) []outcome {
	now := fx.engine.ObjectWith(fresh(o), nil, []*check.ObjectCheck{c})
	fs := byCheck(now.Findings)[c.ID]
	if len(fs) == 0 {
		return nil
	}
	whole := fx.tryFix(o, c, fs, now)
	groups := byScope(fs)
	if len(whole.applied) > 0 || len(groups) < 2 {
		return []outcome{whole}
	}
	// Refused as a whole: nothing of it stayed, so each container starts
	// from the object as it was.
	outs := make([]outcome, 0, len(groups))
	for _, set := range groups {
		before := fx.engine.ObjectWith(fresh(o), nil, []*check.ObjectCheck{c})
		outs = append(outs, fx.tryFix(o, c, set, before))
	}
	return outs
}

// tryFix applies c's fix to o for the findings in set, before being what
// the check found then, and keeps it when verdict accepts it: the findings
// of set's scopes cleared or skipped, no new input error, no more findings
// than before. A refused fix is undone, and set reported as skipped with
// the reason.
func (fx *Fixer) tryFix(o *object.Object, c *check.ObjectCheck, set []check.Finding, before scan.ObjectResult) outcome {
	undo := yamledit.Clone(o.Node)
	out := fx.apply(fresh(o), c, set)
	res := fx.engine.ObjectWith(fresh(o), nil, []*check.ObjectCheck{c})
	left := byCheck(res.Findings)
	all := len(left[c.ID])
	left[c.ID] = within(left[c.ID], set)
	judged := []outcome{out}
	if verdict(judged, left, before.Errors, res.Errors) && all <= len(byCheck(before.Findings)[c.ID]) {
		return out
	}
	*o.Node = *undo
	out.applied = nil
	for _, f := range set {
		out.skipped = append(out.skipped, Skipped{Check: c.ID, Object: o.String(), Line: f.Location.Line, Reason: judged[0].refusal})
	}
	return out
}

// byScope groups findings by the container they are about, the pod's own
// first: "spec.containers[1].securityContext" belongs to
// "spec.containers[1]".
func byScope(fs []check.Finding) [][]check.Finding {
	var keys []string
	groups := map[string][]check.Finding{}
	for _, f := range fs {
		k := scopeOf(f.Path)
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], f)
	}
	sort.Strings(keys)
	out := make([][]check.Finding, 0, len(keys))
	for _, k := range keys {
		out = append(out, groups[k])
	}
	return out
}

// scopeOf returns the container path a field path is under, "" for the
// pod's own fields.
func scopeOf(path string) string {
	for _, field := range []string{"initContainers[", "containers[", "ephemeralContainers["} {
		if i := strings.Index(path, "."+field); i >= 0 {
			if j := strings.IndexByte(path[i:], ']'); j >= 0 {
				return path[:i+j+1]
			}
		}
	}
	return ""
}

// within keeps the findings that are in the scopes of set.
func within(fs, set []check.Finding) []check.Finding {
	scopes := map[string]bool{}
	for _, f := range set {
		scopes[scopeOf(f.Path)] = true
	}
	var out []check.Finding
	for _, f := range fs {
		if scopes[scopeOf(f.Path)] {
			out = append(out, f)
		}
	}
	return out
}

// outcome is what one fix did.
type outcome struct {
	check   string
	found   []check.Finding
	applied []Applied
	skipped []Skipped
	// refusal says why verdict refused the fix.
	refusal string
}

// apply runs c's fix over o for the findings fs.
func (fx *Fixer) apply(o *object.Object, c *check.ObjectCheck, fs []check.Finding) outcome {
	out := outcome{check: c.ID, found: fs}
	name := o.String()
	p := check.NewFixPass(o, fs, fx.engine.Policy().Params(), &fx.opts.FixValues,
		func(path, risk string) {
			out.applied = append(out.applied, Applied{Check: c.ID, Object: name, Path: path, Risky: risk != "", Risk: risk})
		},
		func(line int, reason string) {
			out.skipped = append(out.skipped, Skipped{Check: c.ID, Object: name, Line: line, Reason: reason})
		})
	c.Fix.Apply(p)
	return out
}

// verdict accepts the outcomes when each cleared its check's findings (but
// those it skipped, with a reason) and the object has no input error it did
// not have; otherwise it sets the refusal of the first that failed.
func verdict(outs []outcome, after map[string][]check.Finding, errsBefore, errsAfter []source.Error) bool {
	if msg := newError(errsBefore, errsAfter); msg != "" {
		for i := range outs {
			if len(outs[i].applied) > 0 {
				outs[i].refusal = "the fix would make the object invalid: " + msg
			}
		}
		return false
	}
	ok := true
	for i := range outs {
		o := &outs[i]
		left := after[o.check]
		if len(left) <= len(o.skipped) {
			continue
		}
		ok = false
		if len(o.applied) == 0 {
			o.refusal = "no safe rewrite: " + left[0].Message
		} else {
			o.refusal = "the fix does not clear the finding (" + left[0].Message + "), so it is left as written"
		}
	}
	return ok
}

// newError returns an input error of after that before does not have.
func newError(before, after []source.Error) string {
	seen := map[string]int{}
	for _, e := range before {
		seen[e.Message]++
	}
	for _, e := range after {
		if seen[e.Message] == 0 {
			return e.Message
		}
		seen[e.Message]--
	}
	return ""
}

func collect(outs []outcome) ([]Applied, []Skipped) {
	var applied []Applied
	var skipped []Skipped
	for _, o := range outs {
		applied = append(applied, o.applied...)
		skipped = append(skipped, o.skipped...)
	}
	return applied, skipped
}

// fresh returns a new view of o's edited tree: views are built once.
func fresh(o *object.Object) *object.Object {
	n, ok := object.New(o.Node, o.File, o.LineOffset)
	if !ok {
		return o
	}
	return n
}

func byCheck(fs []check.Finding) map[string][]check.Finding {
	m := map[string][]check.Finding{}
	for _, f := range fs {
		m[f.Check] = append(m[f.Check], f)
	}
	return m
}
