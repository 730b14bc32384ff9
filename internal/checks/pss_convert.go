package checks

import (
	"encoding/json"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	sigsjson "sigs.k8s.io/json"

	"github.com/kubeharden/kubeharden/internal/object"
)

// The Pod Security checks hand the pod to k8s.io/pod-security-admission,
// which reads the Kubernetes API types. The pod template's YAML nodes are
// written out as JSON the way kubectl would send them (YAML 1.1 scalars,
// as sigs.k8s.io/yaml resolves them) and decoded the way the API server
// decodes them (case-sensitive field names, sigs.k8s.io/json). Only the
// pod template subtree is converted, once per object, into a buffer
// reused across objects; only the fields that Pod Security reads are
// written (pssSkip), a fraction of the JSON of a typical pod.

// pssPod is a pod as the API server would decode it; of its metadata only
// the annotations, the one part Pod Security reads. ok is false when the
// pod could not be converted at all (aliases that expand without bound),
// and such a pod is not evaluated.
type pssPod struct {
	meta metav1.ObjectMeta
	spec corev1.PodSpec
	ok   bool
}

// pssVerdictKey is the cache key of a pod's verdict: the JSON that pssConvert
// decodes, with the version; ok is false for pods that do not convert or
// whose key is too large to keep.
func pssVerdictKey(meta, spec *yaml.Node, version string) (string, bool) {
	w := pssWriterPool.Get().(*pssWriter)
	defer w.release()
	w.reset()
	if meta != nil {
		w.value(meta, 0, pssCtxMeta)
	}
	w.buf = append(w.buf, 0)
	w.value(spec, 0, pssCtxPod)
	w.buf = append(w.buf, 0)
	w.buf = append(w.buf, version...)
	if w.failed || len(w.buf) > pssMaxKey {
		return "", false
	}
	return string(w.buf), true
}

// pssConvert converts a pod's metadata and spec mappings (meta may be nil).
// Fields of the wrong type are left unset, as the API server would reject
// them: the engine reports those as input errors, and the rest of the pod
// is still evaluated.
func pssConvert(meta, spec *yaml.Node) *pssPod {
	w := pssWriterPool.Get().(*pssWriter)
	defer w.release()
	out := &pssPod{ok: true}
	if meta != nil {
		w.reset()
		w.value(meta, 0, pssCtxMeta)
		if w.failed {
			return &pssPod{}
		}
		if len(w.buf) > 2 { // not {}
			// Annotations are a map of strings, which has no decoder of its
			// own: a value of the wrong type is skipped, the rest kept.
			_ = sigsjson.UnmarshalCaseSensitivePreserveInts(w.buf, &out.meta)
		}
	}
	w.reset()
	w.value(spec, 0, pssCtxPod)
	if w.failed {
		return &pssPod{}
	}
	// The decoder appends to the lists it finds: sized here, they do not
	// grow by copying (a Container is a kilobyte).
	if n := pssLen(spec, "initContainers"); n > 0 {
		out.spec.InitContainers = make([]corev1.Container, 0, n)
	}
	if n := pssLen(spec, "containers"); n > 0 {
		out.spec.Containers = make([]corev1.Container, 0, n)
	}
	if n := pssLen(spec, "volumes"); n > 0 {
		out.spec.Volumes = make([]corev1.Volume, 0, n)
	}
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(w.buf, &out.spec); err != nil {
		// A type error leaves just its field unset, but a type's own
		// decoder that fails (an int-or-string port that is a mapping)
		// stops the whole decode, and the two look alike: decode again
		// field by field, so that a bad field costs only itself. Only
		// pods the API server would reject take this path.
		out.spec = w.specByField(spec)
	}
	pssDefaults(&out.spec)
	return out
}

// pssDefaults applies the API server's defaults that Pod Security sees,
// since they are set before admission: a volume without a source is an
// emptyDir, and under hostNetwork each container port without a hostPort
// gets its containerPort as hostPort (SetDefaults_Volume and
// SetDefaults_PodSpec). Without them a scan would report a volume type
// the server never stores, and miss host ports it does.
func pssDefaults(spec *corev1.PodSpec) {
	for i := range spec.Volumes {
		if spec.Volumes[i].VolumeSource == (corev1.VolumeSource{}) {
			spec.Volumes[i].EmptyDir = &corev1.EmptyDirVolumeSource{}
		}
	}
	if !spec.HostNetwork {
		return
	}
	for _, cs := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for i := range cs {
			for j := range cs[i].Ports {
				if p := &cs[i].Ports[j]; p.HostPort == 0 {
					p.HostPort = p.ContainerPort
				}
			}
		}
	}
}

// pssLen returns the length of the list under key, 0 for anything else.
func pssLen(n *yaml.Node, key string) int {
	if l := object.Get(n, key); l != nil && l.Kind == yaml.SequenceNode {
		return len(l.Content)
	}
	return 0
}

// pssWriter writes YAML nodes as JSON into a buffer reused across pods.
type pssWriter struct {
	buf []byte
	// failed is set when the output outgrows pssMaxJSON or pssMaxDepth:
	// aliases can make a small document expand without bound.
	failed bool
}

const (
	pssMaxJSON  = 8 << 20
	pssMaxDepth = 1000
)

var pssWriterPool = sync.Pool{New: func() any { return &pssWriter{buf: make([]byte, 0, 8<<10)} }}

func (w *pssWriter) reset() { w.buf, w.failed = w.buf[:0], false }

func (w *pssWriter) release() {
	if cap(w.buf) > 1<<20 {
		return // let an unusually large buffer go
	}
	w.reset()
	pssWriterPool.Put(w)
}

// pssCtx tells the writer where it is, for the fields it leaves out.
type pssCtx uint8

const (
	pssCtxAny           pssCtx = iota
	pssCtxMeta                 // pod metadata
	pssCtxPod                  // pod spec
	pssCtxContainerList        // the value of initContainers, containers, ephemeralContainers
	pssCtxContainer            // one of their items
)

// pssSkip reports whether key is left out of a mapping in context ctx,
// and the context of its value. Of a pod, Pod Security reads the host
// namespaces, hostUsers, the security context, the volumes' sources, the
// OS and the containers; of a container, its name, security context,
// ports, probes and lifecycle hooks; of the metadata, the AppArmor and
// seccomp annotations. Everything else is left out, which is most of a
// typical pod (images, env, resources, affinity...), and with it the
// decoders that can fail (quantities). TestPSSPruneChangesNothing guards
// that against new controls of a future version.
func pssSkip(ctx pssCtx, key string) (skip bool, child pssCtx) {
	switch ctx {
	case pssCtxMeta:
		return key != "annotations", pssCtxAny
	case pssCtxPod:
		switch key {
		case "initContainers", "containers", "ephemeralContainers":
			return false, pssCtxContainerList
		case "hostNetwork", "hostPID", "hostIPC", "hostUsers", "securityContext", "volumes", "os":
			return false, pssCtxAny
		}
		return true, pssCtxAny
	case pssCtxContainer:
		switch key {
		case "name", "securityContext", "ports", "livenessProbe", "readinessProbe", "startupProbe", "lifecycle":
			return false, pssCtxAny
		}
		return true, pssCtxAny
	}
	return false, pssCtxAny
}

func (w *pssWriter) value(n *yaml.Node, depth int, ctx pssCtx) {
	if w.failed {
		return
	}
	if depth > pssMaxDepth || len(w.buf) > pssMaxJSON {
		w.failed = true
		return
	}
	n = object.Resolve(n)
	if n == nil {
		w.buf = append(w.buf, "null"...)
		return
	}
	switch n.Kind {
	case yaml.MappingNode:
		w.mapping(n, depth, ctx)
	case yaml.SequenceNode:
		item := pssCtxAny
		if ctx == pssCtxContainerList {
			item = pssCtxContainer
		}
		w.buf = append(w.buf, '[')
		for i, c := range n.Content {
			if i > 0 {
				w.buf = append(w.buf, ',')
			}
			w.value(c, depth+1, item)
		}
		w.buf = append(w.buf, ']')
	case yaml.ScalarNode:
		w.scalar(n)
	default:
		// An alias chain longer than object.Resolve follows.
		w.buf = append(w.buf, "null"...)
	}
}

func pssIsMerge(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" && k.Tag == "!!merge"
}

func (w *pssWriter) mapping(n *yaml.Node, depth int, ctx pssCtx) {
	if ctx == pssCtxContainerList {
		ctx = pssCtxAny // a mapping where a list belongs: the decoder rejects it
	}
	start := len(w.buf)
	if !w.pairs(n.Content, depth, ctx, true) {
		// A merge key: start over with the merged pairs.
		w.buf = w.buf[:start]
		w.pairs(pssPairs(n), depth, ctx, false)
	}
}

// pairs writes key and value nodes as a JSON object. With stopAtMerge it
// returns false as soon as it meets a merge key, which needs pssPairs.
func (w *pssWriter) pairs(c []*yaml.Node, depth int, ctx pssCtx, stopAtMerge bool) bool {
	w.buf = append(w.buf, '{')
	first := true
	for i := 0; i+1 < len(c); i += 2 {
		k := c[i]
		if stopAtMerge && pssIsMerge(k) {
			return false
		}
		key, ok := pssKey(k)
		if !ok {
			continue
		}
		skip, child := pssSkip(ctx, key)
		if skip {
			continue
		}
		if !first {
			w.buf = append(w.buf, ',')
		}
		first = false
		w.buf = pssAppendString(w.buf, key)
		w.buf = append(w.buf, ':')
		w.value(c[i+1], depth+1, child)
	}
	w.buf = append(w.buf, '}')
	return true
}

// pssPairs flattens a mapping with merge keys into its key and value
// nodes, each key once: the mapping's own keys win over merged ones, and
// of several merged mappings the first wins (as object.Get reads them).
func pssPairs(n *yaml.Node) []*yaml.Node {
	var out []*yaml.Node
	seen := map[string]bool{}
	var walk func(m *yaml.Node, depth int)
	walk = func(m *yaml.Node, depth int) {
		m = object.Resolve(m)
		if m == nil || m.Kind != yaml.MappingNode || depth > 8 {
			return
		}
		var merges []*yaml.Node
		for i := 0; i+1 < len(m.Content); i += 2 {
			k := m.Content[i]
			if pssIsMerge(k) {
				merges = append(merges, m.Content[i+1])
				continue
			}
			key, ok := pssKey(k)
			if !ok || seen[key] {
				continue
			}
			seen[key] = true
			out = append(out, k, m.Content[i+1])
		}
		for _, v := range merges {
			v = object.Resolve(v)
			if v != nil && v.Kind == yaml.SequenceNode {
				for _, it := range v.Content {
					walk(it, depth+1)
				}
				continue
			}
			walk(v, depth+1)
		}
	}
	walk(n, 0)
	return out
}

// pssScalar is a scalar resolved with YAML 1.1 rules.
type pssScalar struct {
	kind byte // 's' string, 'n' null, 'b' bool, 'i' int, 'u' uint, 'f' float
	b    bool
	i    int64
	u    uint64
	f    float64
}

// pssFloatRE is yaml.v2's yamlStyleFloat, which sigs.k8s.io/yaml uses.
var pssFloatRE = regexp.MustCompile(`^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`)

// pssResolve types a scalar as kubectl does: quoted scalars and those
// tagged !!str are strings; plain ones follow YAML 1.1 (yes/no/on/off
// booleans, 0x hex and 0 or 0o octal integers, ~ for null).
func pssResolve(n *yaml.Node) pssScalar {
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return pssScalar{kind: 's'}
	}
	if n.Style&yaml.TaggedStyle != 0 {
		switch n.Tag {
		case "!!null", "!!bool", "!!int", "!!float":
		default:
			return pssScalar{kind: 's'} // !!str, !!binary, !!timestamp, custom tags
		}
	}
	s := n.Value
	if s == "" {
		return pssScalar{kind: 'n'}
	}
	switch c := s[0]; {
	case c == '~' || c == 'n' || c == 'N':
		if s == "~" || s == "null" || s == "Null" || s == "NULL" {
			return pssScalar{kind: 'n'}
		}
		fallthrough
	case c == 'y' || c == 'Y' || c == 't' || c == 'T' || c == 'f' || c == 'F' || c == 'o' || c == 'O':
		if b, ok := object.ParseBool(n); ok {
			return pssScalar{kind: 'b', b: b}
		}
	case c == '.':
		switch s {
		case ".nan", ".NaN", ".NAN":
			return pssScalar{kind: 'f', f: math.NaN()}
		case ".inf", ".Inf", ".INF":
			return pssScalar{kind: 'f', f: math.Inf(1)}
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return pssScalar{kind: 'f', f: f}
		}
	case c == '+' || c == '-' || c >= '0' && c <= '9':
		switch s {
		case "+.inf", "+.Inf", "+.INF":
			return pssScalar{kind: 'f', f: math.Inf(1)}
		case "-.inf", "-.Inf", "-.INF":
			return pssScalar{kind: 'f', f: math.Inf(-1)}
		}
		if !pssNumeric(s) {
			break // 100m, 10Gi, 1.2.3-rc: strings, without strconv's errors
		}
		if i, ok := object.ParseInt(n); ok {
			return pssScalar{kind: 'i', i: i}
		}
		plain := s
		if strings.IndexByte(s, '_') >= 0 {
			plain = strings.ReplaceAll(s, "_", "")
		}
		if u, err := strconv.ParseUint(plain, 0, 64); err == nil {
			return pssScalar{kind: 'u', u: u}
		}
		if pssFloatRE.MatchString(plain) {
			if f, err := strconv.ParseFloat(plain, 64); err == nil {
				return pssScalar{kind: 'f', f: f}
			}
		}
	}
	return pssScalar{kind: 's'}
}

// pssNumeric reports whether s has only characters a YAML 1.1 number can
// have, so that what cannot be one skips the parsers.
func pssNumeric(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
		case c == '+', c == '-', c == '.', c == '_', c == 'x', c == 'X', c == 'o', c == 'O':
		default:
			return false
		}
	}
	return true
}

func (w *pssWriter) scalar(n *yaml.Node) {
	v := pssResolve(n)
	switch v.kind {
	case 'n':
		w.buf = append(w.buf, "null"...)
	case 'b':
		w.buf = strconv.AppendBool(w.buf, v.b)
	case 'i':
		w.buf = strconv.AppendInt(w.buf, v.i, 10)
	case 'u':
		w.buf = strconv.AppendUint(w.buf, v.u, 10)
	case 'f':
		w.buf = pssAppendFloat(w.buf, v.f)
	default:
		w.buf = pssAppendString(w.buf, n.Value)
	}
}

// pssAppendString writes s as a JSON string. Field names and most values
// need no escaping; the rest goes through encoding/json, which decodes to
// the same string (invalid UTF-8 becomes U+FFFD, as the decoder would
// make it).
func pssAppendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// pssAppendFloat writes f as encoding/json does. JSON has no NaN or
// infinity; sigs.k8s.io/yaml fails on them, and here they become null.
func pssAppendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// Clean up e-09 to e-9, as encoding/json does.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// pssKey returns a mapping key as JSON names it: sigs.k8s.io/yaml writes
// a boolean or numeric key in its canonical form. ok is false for keys
// JSON cannot carry (null, a mapping or a list).
func pssKey(k *yaml.Node) (string, bool) {
	k = object.Resolve(k)
	if k == nil || k.Kind != yaml.ScalarNode {
		return "", false
	}
	if c := k.Value; c != "" && c[0] >= 'a' && c[0] <= 'z' && c[0] != 'n' && c[0] != 'y' && c[0] != 't' && c[0] != 'f' && c[0] != 'o' {
		return k.Value, true // the common case: a plain field name
	}
	v := pssResolve(k)
	switch v.kind {
	case 'n':
		return "", false
	case 'b':
		return strconv.FormatBool(v.b), true
	case 'i':
		return strconv.FormatInt(v.i, 10), true
	case 'u':
		return strconv.FormatUint(v.u, 10), true
	case 'f':
		s := strconv.FormatFloat(v.f, 'g', -1, 32)
		switch s {
		case "+Inf":
			s = ".inf"
		case "-Inf":
			s = "-.inf"
		case "NaN":
			s = ".nan"
		}
		return s, true
	}
	return k.Value, true
}

// specByField decodes a pod spec one field at a time, and the items of its
// container and volume lists one field at a time, so that a field whose
// decoder fails loses only itself. It runs only on pods with such errors.
func (w *pssWriter) specByField(n *yaml.Node) corev1.PodSpec {
	var spec corev1.PodSpec
	pairs := pssPairs(n)
	for i := 0; i+1 < len(pairs); i += 2 {
		key, _ := pssKey(pairs[i])
		skip, child := pssSkip(pssCtxPod, key)
		if skip {
			continue
		}
		v := object.Resolve(pairs[i+1])
		if v != nil && v.Kind == yaml.SequenceNode {
			switch key {
			case "initContainers":
				spec.InitContainers = pssItems[corev1.Container](w, v, pssCtxContainer)
				continue
			case "containers":
				spec.Containers = pssItems[corev1.Container](w, v, pssCtxContainer)
				continue
			case "ephemeralContainers":
				spec.EphemeralContainers = pssItems[corev1.EphemeralContainer](w, v, pssCtxContainer)
				continue
			case "volumes":
				spec.Volumes = pssItems[corev1.Volume](w, v, pssCtxAny)
				continue
			}
		}
		w.decodeField(pairs[i], pairs[i+1], child, &spec)
	}
	return spec
}

// pssItems decodes each mapping of a list field by field.
func pssItems[T any](w *pssWriter, list *yaml.Node, ctx pssCtx) []T {
	var out []T
	for _, it := range list.Content {
		it = object.Resolve(it)
		if it == nil || it.Kind != yaml.MappingNode {
			continue
		}
		var v T
		pairs := pssPairs(it)
		for i := 0; i+1 < len(pairs); i += 2 {
			key, _ := pssKey(pairs[i])
			if skip, child := pssSkip(ctx, key); !skip {
				w.decodeField(pairs[i], pairs[i+1], child, &v)
			}
		}
		out = append(out, v)
	}
	return out
}

// decodeField decodes {key: value} into target, which keeps what other
// fields set.
func (w *pssWriter) decodeField(k, v *yaml.Node, ctx pssCtx, target any) {
	key, ok := pssKey(k)
	if !ok {
		return
	}
	w.reset()
	w.buf = append(w.buf, '{')
	w.buf = pssAppendString(w.buf, key)
	w.buf = append(w.buf, ':')
	w.value(v, 1, ctx)
	w.buf = append(w.buf, '}')
	if !w.failed {
		_ = sigsjson.UnmarshalCaseSensitivePreserveInts(w.buf, target)
	}
}
