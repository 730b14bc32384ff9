package object

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Bool is a boolean field as written: Set is false when the field is absent
// (or null), and Ref points at its key, or at its parent when absent.
type Bool struct {
	V, Set bool
	Ref    Ref
}

// Int is an integer field as written.
type Int struct {
	V   int64
	Set bool
	Ref Ref
}

// Str is a string field as written.
type Str struct {
	V   string
	Set bool
	Ref Ref
}

// Profile is a seccompProfile or appArmorProfile field.
type Profile struct {
	Set              bool
	Type             Str
	LocalhostProfile Str
	Ref              Ref
}

// SecurityContext holds the fields of a pod or container security context
// that checks read. Container-only fields stay unset at pod level and the
// other way round.
type SecurityContext struct {
	// Set is true when securityContext is written; Ref points at it or at
	// the pod spec or container that would hold it. Node is its mapping.
	Set  bool
	Ref  Ref
	Node *yaml.Node

	RunAsUser    Int
	RunAsGroup   Int
	RunAsNonRoot Bool
	Seccomp      Profile
	AppArmor     Profile

	// Container-only.
	Privileged               Bool
	AllowPrivilegeEscalation Bool
	ReadOnlyRootFilesystem   Bool
	// Capabilities is set when capabilities is written; CapAdd and CapDrop
	// hold the listed names.
	Capabilities Bool
	CapAddRef    Ref
	CapDropRef   Ref
	CapAdd       []Str
	CapDrop      []Str

	// Pod-only.
	FSGroup Int
}

// ContainerType tells init, regular and ephemeral containers apart.
type ContainerType int

// The container types, in the order the kubelet starts them.
const (
	InitContainer ContainerType = iota
	RegularContainer
	EphemeralContainer
)

var containerFields = [...]string{"initContainers", "containers", "ephemeralContainers"}

// Field returns the pod spec field that lists containers of this type.
func (t ContainerType) Field() string { return containerFields[t] }

// Container is one init, regular or ephemeral container of a pod spec.
type Container struct {
	Type  ContainerType
	Index int
	Name  string
	Image Str
	Ref   Ref

	SecurityContext SecurityContext
	Resources       Resources
	VolumeMounts    []VolumeMount
}

// Resources is a container's resources block.
type Resources struct {
	Set         bool
	Ref         Ref
	RequestsRef Ref
	LimitsRef   Ref
	Requests    map[string]Str
	Limits      map[string]Str
}

// VolumeMount is one entry of volumeMounts.
type VolumeMount struct {
	Name      string
	MountPath string
	ReadOnly  bool
	Ref       Ref
}

// Volume is one entry of a pod spec's volumes.
type Volume struct {
	Name string
	Ref  Ref
	// Source is the volume source key (hostPath, emptyDir, configMap...).
	Source    string
	SourceRef Ref
	// HostPath is the path of a hostPath volume.
	HostPath string
}

// FieldError is a field the API server would reject: a wrong type, or a
// required field that is missing. Checks still run on what can be read.
type FieldError struct {
	Ref     Ref
	Message string
}

// PodSpec is the typed view of a pod spec inside any workload kind.
type PodSpec struct {
	Ref Ref
	// Node is the pod spec mapping.
	Node *yaml.Node
	// Meta is the pod metadata (the template's, or the Pod's own), and
	// MetaNode its mapping (nil when the pod has no metadata).
	Meta     Ref
	MetaNode *yaml.Node
	// OS is spec.os.name: linux, windows, or unset.
	OS Str
	// Annotations are the pod's annotations, where the legacy seccomp and
	// AppArmor annotations live.
	Annotations map[string]string

	SecurityContext              SecurityContext
	HostNetwork                  Bool
	HostPID                      Bool
	HostIPC                      Bool
	AutomountServiceAccountToken Bool
	ServiceAccountName           Str
	Volumes                      []Volume
	Containers                   []*Container
	Errors                       []FieldError
}

// Windows reports whether the pod declares spec.os.name: windows, which
// exempts it from the Linux-only controls (seccomp, AppArmor, capabilities,
// privilege escalation, read-only root, UIDs), as Pod Security does.
func (p *PodSpec) Windows() bool { return p.OS.V == "windows" }

// AnnotationRef points at the key of one of the pod's annotations (the
// template's, for a workload), or at the nearest parent that exists.
func (p *PodSpec) AnnotationRef(key string) Ref {
	ann := Get(p.MetaNode, "annotations")
	return p.Meta.Child("annotations", KeyNode(p.MetaNode, "annotations")).Child(key, KeyNode(ann, key))
}

// Effective returns the security context that applies to c: the pod-level
// fields with the container's own taking precedence, as the kubelet merges
// them. Container-only fields come from the container.
func (p *PodSpec) Effective(c *Container) SecurityContext {
	e := c.SecurityContext
	pod := &p.SecurityContext
	if !e.RunAsUser.Set {
		e.RunAsUser = pod.RunAsUser
	}
	if !e.RunAsGroup.Set {
		e.RunAsGroup = pod.RunAsGroup
	}
	if !e.RunAsNonRoot.Set {
		e.RunAsNonRoot = pod.RunAsNonRoot
	}
	if !e.Seccomp.Set {
		e.Seccomp = pod.Seccomp
	}
	if !e.AppArmor.Set {
		e.AppArmor = pod.AppArmor
	}
	e.FSGroup = pod.FSGroup
	return e
}

// Kind describes a container for messages: container, init container or
// ephemeral container.
func (c *Container) Kind() string {
	switch c.Type {
	case InitContainer:
		return "init container"
	case EphemeralContainer:
		return "ephemeral container"
	}
	return "container"
}

// Describe names a container for messages, e.g. `init container "setup"`.
func (c *Container) Describe() string {
	name := c.Name
	if name == "" {
		name = "#" + strconv.Itoa(c.Index)
	}
	return c.Kind() + " " + strconv.Quote(name)
}

// wellKnown maps built-in workload kinds to the path of their pod spec. The
// kind alone decides, so a stale apiVersion (extensions/v1beta1) still works.
// Their pod spec must list containers, as the API server requires.
var wellKnown = map[string][]string{
	"Pod":                   {"spec"},
	"PodTemplate":           {"template", "spec"},
	"Deployment":            {"spec", "template", "spec"},
	"StatefulSet":           {"spec", "template", "spec"},
	"DaemonSet":             {"spec", "template", "spec"},
	"ReplicaSet":            {"spec", "template", "spec"},
	"ReplicationController": {"spec", "template", "spec"},
	"Job":                   {"spec", "template", "spec"},
	"CronJob":               {"spec", "jobTemplate", "spec", "template", "spec"},
	// OpenShift's DeploymentConfig (apps.openshift.io/v1, once v1), as
	// common as the built-in kinds in clusters that run it.
	"DeploymentConfig": {"spec", "template", "spec"},
}

// Embedded pod spec locations tried for any other kind (Argo Rollouts,
// OpenKruise, Knative...). A candidate counts only when it lists containers.
var embedded = [][]string{
	{"spec", "template", "spec"},
	{"spec", "jobTemplate", "spec", "template", "spec"},
}

// HasPodSpec reports whether the object carries a pod spec.
func (o *Object) HasPodSpec() bool { return o.PodSpec() != nil }

// PodSpec returns the typed view of the object's pod spec, or nil when it
// has none. It is built once and shared by all checks.
func (o *Object) PodSpec() *PodSpec {
	o.podOnce.Do(func() { o.pod = o.readPodSpec() })
	return o.pod
}

func (o *Object) readPodSpec() *PodSpec {
	if path, ok := wellKnown[o.Kind]; ok {
		return o.podAt(path, false)
	}
	for _, path := range embedded {
		if p := o.podAt(path, true); p != nil {
			return p
		}
	}
	return nil
}

// MissingPodSpec returns the input error of a well-known workload kind that
// has no pod spec mapping at all, for which PodSpec is nil: the API server
// requires one that lists containers. A pod spec without containers is a
// PodSpec error instead, and checks still run on the rest of it. ok is
// false for every other object.
func (o *Object) MissingPodSpec() (e FieldError, ok bool) {
	path, known := wellKnown[o.Kind]
	if !known || o.PodSpec() != nil {
		return FieldError{}, false
	}
	n, ref := o.Node, o.Root()
	for _, key := range path {
		v := Get(n, key)
		if IsNull(v) {
			return FieldError{Ref: ref, Message: strings.Join(path, ".") + " has no containers"}, true
		}
		ref = ref.Child(key, KeyNode(n, key))
		if v.Kind != yaml.MappingNode {
			return FieldError{Ref: ref, Message: ref.Path + " must be a mapping, not " + Describe(v)}, true
		}
		n = v
	}
	return FieldError{}, false
}

func (o *Object) podAt(path []string, needContainers bool) *PodSpec {
	n := o.Node
	ref := Ref{}
	var parent *yaml.Node
	for _, key := range path {
		parent = n
		k := KeyNode(n, key)
		n = Get(n, key)
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		ref = ref.Child(key, k)
	}
	if needContainers && Get(n, "containers") == nil {
		return nil
	}
	r := &reader{}
	p := &PodSpec{Ref: Ref{Path: ref.Path, Node: ref.Node}, Node: n}
	// The pod metadata is the sibling of spec: the template's, or the Pod's.
	p.MetaNode = Get(parent, "metadata")
	if p.MetaNode != nil && p.MetaNode.Kind != yaml.MappingNode {
		p.MetaNode = nil
	}
	if o.Kind == "Pod" {
		p.Meta = o.MetadataRef()
		p.Annotations = o.Annotations
	} else {
		metaPath := ref.Path[:len(ref.Path)-len("spec")] + "metadata"
		md := KeyNode(parent, "metadata")
		if md == nil {
			p.Meta = Ref{Path: metaPath, Node: KeyNode(o.Node, path[0])}
		} else {
			p.Meta = Ref{Path: metaPath, Node: md}
		}
		p.Annotations = StringMap(Get(Get(parent, "metadata"), "annotations"))
	}
	p.SecurityContext = r.securityContext(n, p.Ref, true)
	p.HostNetwork = r.boolean(n, "hostNetwork", p.Ref)
	p.HostPID = r.boolean(n, "hostPID", p.Ref)
	p.HostIPC = r.boolean(n, "hostIPC", p.Ref)
	p.AutomountServiceAccountToken = r.boolean(n, "automountServiceAccountToken", p.Ref)
	p.ServiceAccountName = r.str(n, "serviceAccountName", p.Ref)
	if !p.ServiceAccountName.Set {
		// serviceAccount is the deprecated alias the API server still honours.
		p.ServiceAccountName = r.str(n, "serviceAccount", p.Ref)
	}
	if osNode, osRef := r.mapping(n, "os", p.Ref); osNode != nil {
		p.OS = r.str(osNode, "name", osRef)
	}
	p.Volumes = r.volumes(n, p.Ref)
	if c := Get(n, "containers"); IsNull(c) || c.Kind == yaml.SequenceNode && len(c.Content) == 0 {
		// A list of another type is reported as such by containers.
		r.fail(p.Ref.Child("containers", KeyNode(n, "containers")), "%s has no containers", p.Ref.Path)
	}
	for t := InitContainer; t <= EphemeralContainer; t++ {
		p.Containers = r.containers(p.Containers, n, t, p.Ref)
	}
	p.Errors = r.errs
	return p
}

type reader struct{ errs []FieldError }

func (r *reader) fail(ref Ref, format string, args ...any) {
	r.errs = append(r.errs, FieldError{Ref: ref, Message: fmt.Sprintf(format, args...)})
}

// field looks key up in n and returns its value node (nil when absent or
// null) and its ref. It reads n once, for both what Get and KeyNode would
// return, and builds the ref (a path string) only for a field that is set:
// most fields a pod spec may have are absent.
func field(n *yaml.Node, key string, parent Ref) (*yaml.Node, Ref) {
	n = Resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, parent
	}
	var k, v *yaml.Node
	merge, found := false, false
	for i := 0; i+1 < len(n.Content); i += 2 {
		c := n.Content[i]
		if c.Value == key {
			if k == nil {
				k = c
			}
			if c.Kind == yaml.ScalarNode {
				v, found = Resolve(n.Content[i+1]), true
				break
			}
		}
		if c.Value == "<<" && c.Tag == "!!merge" {
			merge = true
		}
	}
	if !found && merge {
		v = Get(n, key)
	}
	if IsNull(v) {
		return nil, parent
	}
	return v, parent.Child(key, k)
}

func (r *reader) boolean(n *yaml.Node, key string, parent Ref) Bool {
	v, ref := field(n, key, parent)
	if v == nil {
		return Bool{Ref: parent}
	}
	b, ok := ParseBool(v)
	if !ok {
		r.fail(ref, "%s must be a boolean, not %s", ref.Path, Describe(v))
		return Bool{Ref: parent}
	}
	return Bool{V: b, Set: true, Ref: ref}
}

func (r *reader) integer(n *yaml.Node, key string, parent Ref) Int {
	v, ref := field(n, key, parent)
	if v == nil {
		return Int{Ref: parent}
	}
	i, ok := ParseInt(v)
	if !ok {
		r.fail(ref, "%s must be an integer, not %s", ref.Path, Describe(v))
		return Int{Ref: parent}
	}
	return Int{V: i, Set: true, Ref: ref}
}

func (r *reader) str(n *yaml.Node, key string, parent Ref) Str {
	v, ref := field(n, key, parent)
	if v == nil {
		return Str{Ref: parent}
	}
	if v.Kind != yaml.ScalarNode {
		r.fail(ref, "%s must be a string, not %s", ref.Path, Describe(v))
		return Str{Ref: parent}
	}
	return Str{V: v.Value, Set: true, Ref: ref}
}

// mapping returns the mapping value of key, reporting any other type.
func (r *reader) mapping(n *yaml.Node, key string, parent Ref) (*yaml.Node, Ref) {
	v, ref := field(n, key, parent)
	if v == nil {
		return nil, parent
	}
	if v.Kind != yaml.MappingNode {
		r.fail(ref, "%s must be a mapping, not %s", ref.Path, Describe(v))
		return nil, parent
	}
	return v, ref
}

// list returns the sequence value of key, reporting any other type.
func (r *reader) list(n *yaml.Node, key string, parent Ref) ([]*yaml.Node, Ref) {
	v, ref := field(n, key, parent)
	if v == nil {
		return nil, parent
	}
	if v.Kind != yaml.SequenceNode {
		r.fail(ref, "%s must be a list, not %s", ref.Path, Describe(v))
		return nil, parent
	}
	return v.Content, ref
}

func itemRef(list Ref, i int, n *yaml.Node) Ref {
	return Ref{Path: list.Path + "[" + strconv.Itoa(i) + "]", Node: n}
}

func (r *reader) profile(n *yaml.Node, key string, parent Ref) Profile {
	m, ref := r.mapping(n, key, parent)
	if m == nil {
		return Profile{Ref: parent}
	}
	return Profile{
		Set:              true,
		Ref:              ref,
		Type:             r.str(m, "type", ref),
		LocalhostProfile: r.str(m, "localhostProfile", ref),
	}
}

func (r *reader) securityContext(n *yaml.Node, parent Ref, pod bool) SecurityContext {
	m, ref := r.mapping(n, "securityContext", parent)
	sc := SecurityContext{Set: m != nil, Ref: ref, Node: m}
	sc.RunAsUser = r.integer(m, "runAsUser", ref)
	sc.RunAsGroup = r.integer(m, "runAsGroup", ref)
	sc.RunAsNonRoot = r.boolean(m, "runAsNonRoot", ref)
	sc.Seccomp = r.profile(m, "seccompProfile", ref)
	sc.AppArmor = r.profile(m, "appArmorProfile", ref)
	if pod {
		sc.FSGroup = r.integer(m, "fsGroup", ref)
		sc.Privileged.Ref, sc.AllowPrivilegeEscalation.Ref, sc.ReadOnlyRootFilesystem.Ref = ref, ref, ref
		sc.Capabilities.Ref, sc.CapAddRef, sc.CapDropRef = ref, ref, ref
		return sc
	}
	sc.FSGroup.Ref = ref
	sc.Privileged = r.boolean(m, "privileged", ref)
	sc.AllowPrivilegeEscalation = r.boolean(m, "allowPrivilegeEscalation", ref)
	sc.ReadOnlyRootFilesystem = r.boolean(m, "readOnlyRootFilesystem", ref)
	caps, cref := r.mapping(m, "capabilities", ref)
	sc.Capabilities = Bool{V: caps != nil, Set: caps != nil, Ref: cref}
	var addRef, dropRef Ref
	var add, drop []*yaml.Node
	add, addRef = r.list(caps, "add", cref)
	drop, dropRef = r.list(caps, "drop", cref)
	sc.CapAddRef, sc.CapDropRef = addRef, dropRef
	sc.CapAdd = r.strings(add, addRef)
	sc.CapDrop = r.strings(drop, dropRef)
	return sc
}

func (r *reader) strings(items []*yaml.Node, list Ref) []Str {
	if len(items) == 0 {
		return nil
	}
	out := make([]Str, 0, len(items))
	for i, it := range items {
		it = Resolve(it)
		ref := itemRef(list, i, it)
		if it == nil || it.Kind != yaml.ScalarNode || it.Tag == "!!null" {
			r.fail(ref, "%s must be a string, not %s", ref.Path, Describe(it))
			continue
		}
		out = append(out, Str{V: it.Value, Set: true, Ref: ref})
	}
	return out
}

func (r *reader) volumes(n *yaml.Node, parent Ref) []Volume {
	items, list := r.list(n, "volumes", parent)
	if len(items) == 0 {
		return nil
	}
	out := make([]Volume, 0, len(items))
	for i, it := range items {
		it = Resolve(it)
		ref := itemRef(list, i, it)
		if it == nil || it.Kind != yaml.MappingNode {
			r.fail(ref, "%s must be a mapping, not %s", ref.Path, Describe(it))
			continue
		}
		v := Volume{Name: GetStr(it, "name"), Ref: ref}
		var src *yaml.Node
		for j := 0; j+1 < len(it.Content); j += 2 {
			if k := it.Content[j].Value; k != "name" {
				v.Source, src = k, Resolve(it.Content[j+1])
				v.SourceRef = ref.Child(k, it.Content[j])
				break
			}
		}
		// A volume source is a mapping (emptyDir: {}); `hostPath: "/"`
		// is not a host path of "/" but a volume the API server rejects,
		// which checks do not see, as they do not see a container that is
		// not a mapping.
		if !IsNull(src) && src.Kind != yaml.MappingNode {
			r.fail(v.SourceRef, "%s must be a mapping, not %s", v.SourceRef.Path, Describe(src))
			continue
		}
		if v.Source == "hostPath" {
			v.HostPath = r.str(src, "path", v.SourceRef).V
		}
		out = append(out, v)
	}
	return out
}

func (r *reader) containers(out []*Container, n *yaml.Node, t ContainerType, parent Ref) []*Container {
	items, list := r.list(n, t.Field(), parent)
	for i, it := range items {
		it = Resolve(it)
		ref := itemRef(list, i, it)
		if it == nil || it.Kind != yaml.MappingNode {
			r.fail(ref, "%s must be a mapping, not %s", ref.Path, Describe(it))
			continue
		}
		c := &Container{Type: t, Index: i, Ref: ref}
		name := r.str(it, "name", ref)
		c.Name = name.V
		if !name.Set || name.V == "" {
			r.fail(ref, "%s has no name", ref.Path)
		}
		c.Image = r.str(it, "image", ref)
		if !c.Image.Set || c.Image.V == "" {
			r.fail(ref, "%s has no image", ref.Path)
		}
		c.SecurityContext = r.securityContext(it, ref, false)
		c.Resources = r.resources(it, ref)
		mounts, mref := r.list(it, "volumeMounts", ref)
		for j, m := range mounts {
			m = Resolve(m)
			if m == nil || m.Kind != yaml.MappingNode {
				continue
			}
			ro, _ := ParseBool(Get(m, "readOnly"))
			c.VolumeMounts = append(c.VolumeMounts, VolumeMount{
				Name: GetStr(m, "name"), MountPath: GetStr(m, "mountPath"), ReadOnly: ro,
				Ref: itemRef(mref, j, m),
			})
		}
		out = append(out, c)
	}
	return out
}

func (r *reader) resources(n *yaml.Node, parent Ref) Resources {
	m, ref := r.mapping(n, "resources", parent)
	res := Resources{Set: m != nil, Ref: ref}
	var req, lim *yaml.Node
	req, res.RequestsRef = r.mapping(m, "requests", ref)
	lim, res.LimitsRef = r.mapping(m, "limits", ref)
	res.Requests = r.quantities(req, res.RequestsRef)
	res.Limits = r.quantities(lim, res.LimitsRef)
	return res
}

func (r *reader) quantities(n *yaml.Node, parent Ref) map[string]Str {
	if n == nil || len(n.Content) == 0 {
		return nil
	}
	out := make(map[string]Str, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], Resolve(n.Content[i+1])
		ref := parent.Child(k.Value, k)
		if v == nil || v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
			r.fail(ref, "%s must be a quantity, not %s", ref.Path, Describe(v))
			continue
		}
		out[k.Value] = Str{V: v.Value, Set: true, Ref: ref}
	}
	return out
}
