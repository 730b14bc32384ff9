package checks

import (
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/object"
)

// Label selectors as the API server evaluates them
// (metav1.LabelSelectorAsSelector): matchLabels and matchExpressions are
// ANDed, an empty selector selects everything, and a selector the API
// server would reject selects nothing. The network policy checks compile
// each selector once and compare them by a canonical string, because real
// inputs repeat the same selector in many policies.

// netpolSelector is a compiled label selector.
type netpolSelector struct {
	// reqs are sorted by key, operator and values; matchLabels entries are
	// In requirements with one value, as they mean the same.
	reqs []netpolRequirement
	// invalid is set when the API server would reject the selector: an
	// unknown operator, In or NotIn without values, Exists with values, a
	// field of the wrong type. Such a selector selects nothing.
	invalid bool
}

// netpolRequirement is one requirement of a selector.
type netpolRequirement struct {
	key    string
	op     string   // In, NotIn, Exists, DoesNotExist
	values []string // sorted and deduplicated
}

// The operators of matchExpressions; the API server compares them case
// sensitively.
const (
	netpolOpIn           = "In"
	netpolOpNotIn        = "NotIn"
	netpolOpExists       = "Exists"
	netpolOpDoesNotExist = "DoesNotExist"
)

// netpolParseSelector compiles the selector mapping n. An absent or null
// selector compiles to the empty one, which selects everything: that is
// what the API server makes of a NetworkPolicy's podSelector. Callers for
// which an absent selector means something else (a peer's
// namespaceSelector) test for that first.
func netpolParseSelector(n *yaml.Node) netpolSelector {
	n = object.Resolve(n)
	if object.IsNull(n) {
		return netpolSelector{}
	}
	if n.Kind != yaml.MappingNode {
		return netpolSelector{invalid: true}
	}
	var s netpolSelector
	if ml := object.Get(n, "matchLabels"); !object.IsNull(ml) {
		if ml.Kind != yaml.MappingNode {
			return netpolSelector{invalid: true}
		}
		for i := 0; i+1 < len(ml.Content); i += 2 {
			v := object.Resolve(ml.Content[i+1])
			if v == nil || v.Kind != yaml.ScalarNode {
				return netpolSelector{invalid: true}
			}
			s.reqs = append(s.reqs, netpolRequirement{key: ml.Content[i].Value, op: netpolOpIn, values: []string{object.Scalar(v)}})
		}
	}
	if me := object.Get(n, "matchExpressions"); !object.IsNull(me) {
		if me.Kind != yaml.SequenceNode {
			return netpolSelector{invalid: true}
		}
		for _, e := range me.Content {
			r, ok := netpolParseRequirement(e)
			if !ok {
				return netpolSelector{invalid: true}
			}
			s.reqs = append(s.reqs, r)
		}
	}
	slices.SortFunc(s.reqs, func(a, b netpolRequirement) int {
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		if c := strings.Compare(a.op, b.op); c != 0 {
			return c
		}
		return slices.Compare(a.values, b.values)
	})
	s.reqs = slices.CompactFunc(s.reqs, func(a, b netpolRequirement) bool {
		return a.key == b.key && a.op == b.op && slices.Equal(a.values, b.values)
	})
	return s
}

func netpolParseRequirement(e *yaml.Node) (netpolRequirement, bool) {
	e = object.Resolve(e)
	if e == nil || e.Kind != yaml.MappingNode {
		return netpolRequirement{}, false
	}
	r := netpolRequirement{key: object.GetStr(e, "key"), op: object.GetStr(e, "operator")}
	if r.key == "" {
		return r, false
	}
	if vs := object.Get(e, "values"); !object.IsNull(vs) {
		if vs.Kind != yaml.SequenceNode {
			return r, false
		}
		for _, v := range vs.Content {
			v = object.Resolve(v)
			if v == nil || v.Kind != yaml.ScalarNode {
				return r, false
			}
			r.values = append(r.values, object.Scalar(v))
		}
	}
	switch r.op {
	case netpolOpIn, netpolOpNotIn:
		if len(r.values) == 0 {
			return r, false
		}
	case netpolOpExists, netpolOpDoesNotExist:
		if len(r.values) != 0 {
			return r, false
		}
	default:
		return r, false
	}
	slices.Sort(r.values)
	r.values = slices.Compact(r.values)
	return r, true
}

// selectsAll reports whether the selector selects every object, as {} does.
func (s *netpolSelector) selectsAll() bool { return !s.invalid && len(s.reqs) == 0 }

// matches reports whether an object with these labels is selected.
func (s *netpolSelector) matches(labels map[string]string) bool {
	if s.invalid {
		return false
	}
	for i := range s.reqs {
		if !s.reqs[i].matches(labels) {
			return false
		}
	}
	return true
}

func (r *netpolRequirement) matches(labels map[string]string) bool {
	v, ok := labels[r.key]
	switch r.op {
	case netpolOpIn:
		return ok && slices.Contains(r.values, v)
	case netpolOpNotIn:
		return !ok || !slices.Contains(r.values, v)
	case netpolOpExists:
		return ok
	case netpolOpDoesNotExist:
		return !ok
	}
	return false
}

// canonical returns a string that is equal for two selectors exactly when
// they are written the same way up to order, duplicates and the choice
// between matchLabels and a one-value In.
func (s *netpolSelector) canonical() string {
	if s.invalid {
		return "\x00invalid"
	}
	var b strings.Builder
	for i := range s.reqs {
		r := &s.reqs[i]
		b.WriteString(r.key)
		b.WriteByte(0)
		b.WriteString(r.op)
		for _, v := range r.values {
			b.WriteByte(0)
			b.WriteString(v)
		}
		b.WriteByte(1)
	}
	return b.String()
}

// netpolLabelsKey reads the labels mapping n into a canonical string
// ("key\x00value\x00", sorted by key), which is far smaller than a map for
// a deferred condition to hold, and lets verdicts be cached by label set.
// Label keys and values cannot contain NUL, so the encoding is unambiguous
// for any labels the API server accepts.
func netpolLabelsKey(n *yaml.Node) string {
	n = object.Resolve(n)
	if n == nil || n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		return ""
	}
	type kv struct{ k, v string }
	pairs := make([]kv, 0, len(n.Content)/2)
	size := 0
	for i := 0; i+1 < len(n.Content); i += 2 {
		v := object.Resolve(n.Content[i+1])
		if v != nil && v.Kind == yaml.ScalarNode {
			pairs = append(pairs, kv{n.Content[i].Value, object.Scalar(v)})
			size += len(n.Content[i].Value) + len(v.Value) + 2
		}
	}
	// A key written twice keeps its last value, as a JSON decoder does.
	slices.SortStableFunc(pairs, func(a, b kv) int { return strings.Compare(a.k, b.k) })
	var b strings.Builder
	b.Grow(size)
	for i, p := range pairs {
		if i+1 < len(pairs) && pairs[i+1].k == p.k {
			continue
		}
		b.WriteString(p.k)
		b.WriteByte(0)
		b.WriteString(p.v)
		b.WriteByte(0)
	}
	return b.String()
}

// netpolLabelsFromKey turns a netpolLabelsKey string back into a map.
func netpolLabelsFromKey(key string) map[string]string {
	parts := strings.Split(key, "\x00")
	m := make(map[string]string, len(parts)/2)
	for i := 0; i+1 < len(parts); i += 2 {
		m[parts[i]] = parts[i+1]
	}
	return m
}
