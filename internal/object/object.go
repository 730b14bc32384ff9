// Package object is kubeharden's model of one Kubernetes object: where it
// came from, its YAML node tree with positions, and typed views of the parts
// that checks read (the pod spec of any workload kind).
package object

import (
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// Object is one Kubernetes object read from a source. A check never learns
// which source it came from; only reports and suppressions use File.
type Object struct {
	APIVersion string
	Kind       string
	Name       string
	Namespace  string // as written; "" when unset
	Labels     map[string]string
	// Annotations of the object itself (not of its pod template): the place
	// for ignore.kubeharden.io/<check> suppressions.
	Annotations map[string]string

	// File is the path the object was read from ("-" for stdin).
	File string
	// Origin names where a rendered object came from (a Helm template, a
	// Kustomize resource); empty for plain files.
	Origin string
	// Locate, when set, maps a field path to its line and column in File
	// (a kustomization's resource file), since Node is the rendered output.
	Locate func(path string) (line, col int, ok bool)
	// Tracer, when set, maps the lines of a rendered object (a Helm
	// template's output) back to its template; see Place.
	Tracer Tracer
	// LineOffset is added to every node line: documents of one file are
	// parsed separately, each from its own first line.
	LineOffset int
	// Node is the object's mapping node.
	Node *yaml.Node

	podOnce sync.Once
	pod     *PodSpec
	memo    map[string]any
}

// Memo returns the value stored on the object under key, computing it once
// with make: checks share expensive views of one object (its pod spec as
// the Kubernetes API type) this way. All checks of an object run in one
// goroutine, so no locking is needed.
func (o *Object) Memo(key string, make func() any) any {
	if v, ok := o.memo[key]; ok {
		return v
	}
	if o.memo == nil {
		o.memo = map[string]any{}
	}
	v := make()
	o.memo[key] = v
	return v
}

// Ref points at a field of an object: its dotted path and the nearest node
// that exists, so that a missing field can be reported at its parent.
type Ref struct {
	Path string
	Node *yaml.Node
}

// Child returns the ref of key below r, given the key's node if it exists.
func (r Ref) Child(key string, n *yaml.Node) Ref {
	p := key
	if r.Path != "" {
		p = r.Path + "." + key
	}
	if n == nil {
		n = r.Node
	}
	return Ref{Path: p, Node: n}
}

// Pos returns the 1-based line and column of a ref in its file.
func (o *Object) Pos(r Ref) (line, col int) {
	if o.Locate != nil {
		if l, c, ok := o.Locate(r.Path); ok {
			return l, c
		}
	}
	n := r.Node
	if n == nil {
		n = o.Node
	}
	if n == nil {
		return o.LineOffset + 1, 1
	}
	return n.Line + o.LineOffset, n.Column
}

// Root is the ref of the object itself.
func (o *Object) Root() Ref { return Ref{Node: o.Node} }

// MetadataRef is the ref of metadata, or the object when it has none.
func (o *Object) MetadataRef() Ref {
	md := KeyNode(o.Node, "metadata")
	if md == nil {
		return o.Root()
	}
	return Ref{Path: "metadata", Node: md}
}

// Group returns the API group of the object ("" for core).
func (o *Object) Group() string {
	if i := strings.IndexByte(o.APIVersion, '/'); i >= 0 {
		return o.APIVersion[:i]
	}
	return ""
}

// BuiltIn reports whether the object's API group is one of Kubernetes' own
// (the core group, a group without a dot such as apps, or *.k8s.io).
func (o *Object) BuiltIn() bool {
	g := o.Group()
	return !strings.Contains(g, ".") || strings.HasSuffix(g, ".k8s.io")
}

// New builds an Object from a document's mapping node. ok is false when the
// node is not a Kubernetes object (no apiVersion or kind), such as a CI
// workflow or a Helm values file, which a scan skips quietly.
func New(n *yaml.Node, file string, lineOffset int) (o *Object, ok bool) {
	n = Resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, false
	}
	kind, apiVersion := GetStr(n, "kind"), GetStr(n, "apiVersion")
	if kind == "" || apiVersion == "" {
		return nil, false
	}
	md := Get(n, "metadata")
	name := GetStr(md, "name")
	if name == "" {
		name = GetStr(md, "generateName")
	}
	return &Object{
		APIVersion:  apiVersion,
		Kind:        kind,
		Name:        name,
		Namespace:   GetStr(md, "namespace"),
		Labels:      StringMap(Get(md, "labels")),
		Annotations: StringMap(Get(md, "annotations")),
		File:        file,
		LineOffset:  lineOffset,
		Node:        n,
	}, true
}

// Malformed returns the input error of a mapping that means to be a
// Kubernetes object, but whose apiVersion or kind is not a string (`kind:
// {a: b}`): New rejects it, and a scan would skip it quietly as a file
// that is not a manifest at all. ok is false for anything else, a CI
// workflow or a values file among them.
func Malformed(n *yaml.Node) (e FieldError, ok bool) {
	n = Resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return FieldError{}, false
	}
	kind, apiVersion := Get(n, "kind"), Get(n, "apiVersion")
	isStr := func(v *yaml.Node) bool { return Scalar(v) != "" }
	for _, f := range []struct {
		key        string
		v, sibling *yaml.Node
	}{{"apiVersion", apiVersion, kind}, {"kind", kind, apiVersion}} {
		if !IsNull(f.v) && f.v.Kind != yaml.ScalarNode && isStr(f.sibling) {
			return FieldError{Ref: Ref{Path: f.key, Node: KeyNode(n, f.key)}, Message: f.key + " must be a string, not " + Describe(f.v)}, true
		}
	}
	return FieldError{}, false
}

// ItemsError returns the input error of a List whose items are not a
// list, whose objects would otherwise be skipped quietly.
func (o *Object) ItemsError() (e FieldError, ok bool) {
	items := Get(o.Node, "items")
	if !o.IsList() || IsNull(items) || items.Kind == yaml.SequenceNode {
		return FieldError{}, false
	}
	return FieldError{Ref: Ref{Path: "items", Node: KeyNode(o.Node, "items")}, Message: "items of " + o.Kind + " must be a list, not " + Describe(items)}, true
}

// IsList reports whether the object is a List (kind List or *List with
// items), whose items are objects of their own.
func (o *Object) IsList() bool {
	return (o.Kind == "List" || strings.HasSuffix(o.Kind, "List")) && Get(o.Node, "items") != nil
}

// Items returns the item nodes of a List object.
func (o *Object) Items() []*yaml.Node {
	items := Get(o.Node, "items")
	if items == nil || items.Kind != yaml.SequenceNode {
		return nil
	}
	return items.Content
}

// clusterScoped lists the built-in cluster-scoped kinds; everything else is
// assumed namespaced, as a CRD usually is.
var clusterScoped = map[string]bool{
	"Namespace": true, "Node": true, "PersistentVolume": true, "ClusterRole": true,
	"ClusterRoleBinding": true, "CustomResourceDefinition": true, "StorageClass": true,
	"PriorityClass": true, "ValidatingWebhookConfiguration": true,
	"MutatingWebhookConfiguration": true, "ValidatingAdmissionPolicy": true,
	"ValidatingAdmissionPolicyBinding": true, "MutatingAdmissionPolicy": true,
	"MutatingAdmissionPolicyBinding": true, "APIService": true,
	"PodSecurityPolicy": true, "CSIDriver": true, "CSINode": true, "RuntimeClass": true,
	"VolumeAttachment": true, "CertificateSigningRequest": true, "IngressClass": true,
	"ComponentStatus": true, "FlowSchema": true, "PriorityLevelConfiguration": true,
	"ClusterIssuer": true, "ClusterRoleList": true, "ClusterRoleBindingList": true,
	"StorageVersionMigration": true, "DeviceClass": true, "ResourceSlice": true,
	"IPAddress": true, "ServiceCIDR": true, "ClusterTrustBundle": true,
	"SelfSubjectReview": true, "TokenReview": true, "SubjectAccessReview": true,
	"SelfSubjectAccessReview": true, "SelfSubjectRulesReview": true,
}

// Namespaced reports whether objects of this kind live in a namespace.
func (o *Object) Namespaced() bool { return !clusterScoped[o.Kind] }

// String names the object as kind/namespace/name for messages and logs.
func (o *Object) String() string {
	if o.Namespace != "" {
		return o.Kind + "/" + o.Namespace + "/" + o.Name
	}
	return o.Kind + "/" + o.Name
}
