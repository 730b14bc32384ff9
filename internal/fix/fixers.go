package fix

import (
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/object"
)

// minID is the lowest UID and GID the checks accept by default.
const minID = 10000

const (
	seccompPodAnnotation     = "seccomp.security.alpha.kubernetes.io/pod"
	seccompContainerPrefix   = "container.seccomp.security.alpha.kubernetes.io/"
	appArmorContainerPrefix  = "container.apparmor.security.beta.kubernetes.io/"
	suppressAnnotationPrefix = "ignore.kubeharden.io/"
)

// podKeysAfterSC are the pod spec keys a new pod-level field goes before,
// so that it sits near the top of the pod spec, above the containers.
var podKeysAfterSC = []string{"initContainers", "containers", "ephemeralContainers", "volumes"}

type fixer struct {
	opts    Options
	applied []Applied
	skipped []Skipped
	// lineOffset is the document's first line in its file, less one.
	lineOffset int

	obj  *object.Object
	pod  *object.PodSpec
	path string
}

// on reports whether check id is to be fixed on the current object.
func (f *fixer) on(id string) bool {
	if f.opts.Checks != nil && !f.opts.Checks[id] {
		return false
	}
	if _, ignored := f.obj.Annotations[suppressAnnotationPrefix+id]; ignored {
		return false
	}
	return f.opts.Exempt == nil || !f.opts.Exempt(id, f.obj)
}

func (f *fixer) record(id, path string, risky bool) {
	f.applied = append(f.applied, Applied{Check: id, Object: f.obj.String(), Path: path, Risky: risky})
}

type container struct {
	node *yaml.Node
	name string
	path string
}

func (f *fixer) object(o *object.Object) {
	p := o.PodSpec()
	if p == nil || p.Node == nil {
		return
	}
	f.obj, f.pod, f.path = o, p, p.Ref.Path
	if f.on("automount-service-account-token") {
		f.automount()
	}
	var cs []container
	for _, field := range []string{"initContainers", "containers", "ephemeralContainers"} {
		for i, c := range seqItems(p.Node, field) {
			if c != nil {
				cs = append(cs, container{node: c, name: object.GetStr(c, "name"),
					path: f.path + "." + field + "[" + strconv.Itoa(i) + "]"})
			}
		}
	}
	if f.on("privileged-container") {
		for _, c := range cs {
			if sc := object.Get(c.node, "securityContext"); sc != nil {
				if v, ok := object.ParseBool(object.Get(sc, "privileged")); ok && v {
					if m := ensureMap(c.node, "securityContext"); m != nil {
						setScalar(m, "privileged", "!!bool", "false")
						f.record("privileged-container", c.path+".securityContext.privileged", false)
					}
				}
			}
		}
	}
	f.images(cs)
	f.resources(cs)
	if p.Windows() {
		return
	}
	f.identity(cs)
	f.profiles(cs)
	for _, c := range cs {
		f.containerFields(c)
	}
}

// automount turns the service account token off in the pod spec. A pod
// that asked for it explicitly may use it: that change is risky.
func (f *fixer) automount() {
	n := object.Get(f.pod.Node, "automountServiceAccountToken")
	v, ok := object.ParseBool(n)
	if ok && !v {
		return
	}
	risky := ok && v
	if keyIndex(f.pod.Node, "automountServiceAccountToken") >= 0 {
		setScalar(f.pod.Node, "automountServiceAccountToken", "!!bool", "false")
	} else {
		insertKey(f.pod.Node, "automountServiceAccountToken", scalar("!!bool", "false"),
			append([]string{"securityContext"}, podKeysAfterSC...)...)
	}
	f.record("automount-service-account-token", f.path+".automountServiceAccountToken", risky)
}

// outside returns a test of whether an ID field needs a fix: absent, not
// a number, below min, or above a positive max.
func outside(min, max int64) func(*yaml.Node) bool {
	return func(n *yaml.Node) bool {
		v, ok := object.ParseInt(n)
		return !ok || v < min || (max > 0 && v > max)
	}
}

// identity sets runAsNonRoot, runAsUser, runAsGroup and fsGroup at pod
// level and corrects container-level values that undo them.
func (f *fixer) identity(cs []container) {
	psc := object.Get(f.pod.Node, "securityContext")
	type want struct {
		id, key, val string
		bad          func(*yaml.Node) bool
	}
	uid, gid := strconv.FormatInt(f.opts.UID, 10), strconv.FormatInt(f.opts.GID, 10)
	lowUID, lowGID := outside(f.opts.MinUID, f.opts.MaxUID), outside(f.opts.MinGID, f.opts.MaxGID)
	notTrue := func(n *yaml.Node) bool { v, ok := object.ParseBool(n); return !ok || !v }
	wants := []want{
		{"run-as-non-root", "runAsNonRoot", "true", notTrue},
		{"run-as-high-uid", "runAsUser", uid, lowUID},
		{"run-as-high-gid", "runAsGroup", gid, lowGID},
		{"fs-group", "fsGroup", gid, lowGID},
	}
	for _, w := range wants {
		if !f.on(w.id) || !w.bad(object.Get(psc, w.key)) {
			continue
		}
		m := ensureMap(f.pod.Node, "securityContext", podKeysAfterSC...)
		if m == nil {
			continue
		}
		tag := "!!int"
		if w.key == "runAsNonRoot" {
			tag = "!!bool"
		}
		setScalar(m, w.key, tag, w.val)
		// A new user or a non-root demand may break an image built to
		// run as root: the run needs a test.
		f.record(w.id, f.path+".securityContext."+w.key, w.key == "runAsNonRoot" || w.key == "runAsUser")
	}
	for _, c := range cs {
		sc := object.Get(c.node, "securityContext")
		if sc == nil {
			continue
		}
		if n := object.Get(sc, "runAsNonRoot"); n != nil && f.on("run-as-non-root") && notTrue(n) {
			if m := ensureMap(c.node, "securityContext"); m != nil {
				setScalar(m, "runAsNonRoot", "!!bool", "true")
				f.record("run-as-non-root", c.path+".securityContext.runAsNonRoot", true)
			}
		}
		if n := object.Get(sc, "runAsUser"); n != nil && lowUID(n) {
			v, _ := object.ParseInt(n)
			id := "run-as-high-uid"
			if v == 0 && f.on("run-as-non-root") {
				id = "run-as-non-root"
			}
			if f.on(id) {
				if m := ensureMap(c.node, "securityContext"); m != nil {
					setScalar(m, "runAsUser", "!!int", uid)
					f.record(id, c.path+".securityContext.runAsUser", true)
				}
			}
		}
		if n := object.Get(sc, "runAsGroup"); n != nil && lowGID(n) && f.on("run-as-high-gid") {
			if m := ensureMap(c.node, "securityContext"); m != nil {
				setScalar(m, "runAsGroup", "!!int", gid)
				f.record("run-as-high-gid", c.path+".securityContext.runAsGroup", false)
			}
		}
	}
}

// profileOK reports whether a profile mapping is RuntimeDefault, or
// Localhost with a profile name.
func profileOK(n *yaml.Node) bool {
	switch object.GetStr(n, "type") {
	case "RuntimeDefault":
		return true
	case "Localhost":
		return object.GetStr(n, "localhostProfile") != ""
	}
	return false
}

// setProfile writes key: {type: t[, localhostProfile: lp]} into m.
func setProfile(m *yaml.Node, key, t, lp string) {
	pm := ensureMap(m, key)
	if pm == nil {
		deleteKey(m, key)
		pm = ensureMap(m, key)
	}
	setScalar(pm, "type", "!!str", t)
	if lp != "" {
		setScalar(pm, "localhostProfile", "!!str", lp)
	} else {
		deleteKey(pm, "localhostProfile")
	}
}

// annotationProfile maps a legacy annotation value to a profile field.
func annotationProfile(v string) (t, lp string) {
	if rest, ok := strings.CutPrefix(v, "localhost/"); ok && rest != "" {
		return "Localhost", rest
	}
	return "RuntimeDefault", ""
}

// profiles sets seccompProfile and appArmorProfile, replacing the legacy
// annotations with the fields.
func (f *fixer) profiles(cs []container) {
	type kind struct {
		id, key, podAnn, cPrefix string
	}
	for _, k := range []kind{
		{"seccomp-profile", "seccompProfile", seccompPodAnnotation, seccompContainerPrefix},
		{"apparmor-profile", "appArmorProfile", "", appArmorContainerPrefix},
	} {
		if !f.on(k.id) {
			continue
		}
		ann := object.Get(f.pod.MetaNode, "annotations")
		annotations := object.StringMap(ann)
		// Pod level.
		psc := object.Get(f.pod.Node, "securityContext")
		if !profileOK(object.Get(psc, k.key)) {
			t, lp := "RuntimeDefault", ""
			if v, ok := annotations[k.podAnn]; ok && k.podAnn != "" {
				t, lp = annotationProfile(v)
			}
			if m := ensureMap(f.pod.Node, "securityContext", podKeysAfterSC...); m != nil {
				setProfile(m, k.key, t, lp)
				f.record(k.id, f.path+".securityContext."+k.key, false)
			}
		}
		// Containers: a bad own profile, or a legacy annotation to carry
		// over as a field.
		for _, c := range cs {
			sc := object.Get(c.node, "securityContext")
			own := object.Get(sc, k.key)
			v, hasAnn := annotations[k.cPrefix+c.name]
			hasAnn = hasAnn && c.name != ""
			switch {
			case own != nil && !profileOK(own):
				if m := ensureMap(c.node, "securityContext"); m != nil {
					setProfile(m, k.key, "RuntimeDefault", "")
					f.record(k.id, c.path+".securityContext."+k.key, false)
				}
			case own == nil && hasAnn:
				if t, lp := annotationProfile(v); t == "Localhost" {
					if m := ensureMap(c.node, "securityContext"); m != nil {
						setProfile(m, k.key, t, lp)
						f.record(k.id, c.path+".securityContext."+k.key, false)
					}
				}
			}
		}
		// The fields now say what the annotations said: remove them.
		am := f.annotationsMap()
		if am == nil {
			continue
		}
		var keys []string
		for i := 0; i+1 < len(am.Content); i += 2 {
			key := am.Content[i].Value
			if (k.podAnn != "" && key == k.podAnn) || strings.HasPrefix(key, k.cPrefix) {
				keys = append(keys, key)
			}
		}
		for _, key := range keys {
			deleteKey(am, key)
			f.record(k.id, f.pod.Meta.Path+".annotations."+key, false)
		}
		if len(am.Content) == 0 && len(keys) > 0 {
			deleteKey(f.pod.MetaNode, "annotations")
		}
	}
}

// annotationsMap returns the pod's own annotations mapping for editing, or
// nil when there is none written directly.
func (f *fixer) annotationsMap() *yaml.Node {
	if f.pod.MetaNode == nil || keyIndex(f.pod.MetaNode, "annotations") < 0 {
		return nil
	}
	if object.Get(f.pod.MetaNode, "annotations") == nil {
		return nil
	}
	return ensureMap(f.pod.MetaNode, "annotations")
}

// containerFields sets the container-only fields.
func (f *fixer) containerFields(c container) {
	sc := object.Get(c.node, "securityContext")
	if f.on("allow-privilege-escalation") {
		if v, ok := object.ParseBool(object.Get(sc, "allowPrivilegeEscalation")); !ok || v {
			if m := ensureMap(c.node, "securityContext"); m != nil {
				setScalar(m, "allowPrivilegeEscalation", "!!bool", "false")
				f.record("allow-privilege-escalation", c.path+".securityContext.allowPrivilegeEscalation", false)
			}
		}
	}
	if f.on("read-only-root-filesystem") {
		if v, ok := object.ParseBool(object.Get(sc, "readOnlyRootFilesystem")); !ok || !v {
			if m := ensureMap(c.node, "securityContext"); m != nil {
				setScalar(m, "readOnlyRootFilesystem", "!!bool", "true")
				f.record("read-only-root-filesystem", c.path+".securityContext.readOnlyRootFilesystem", true)
				f.tmpVolume(c)
			}
		}
	}
	if f.on("capabilities-drop-all") {
		caps := object.Get(object.Get(c.node, "securityContext"), "capabilities")
		drop := object.Get(caps, "drop")
		has := false
		if drop != nil && drop.Kind == yaml.SequenceNode {
			for _, d := range drop.Content {
				if object.Scalar(d) == "ALL" {
					has = true
				}
			}
		}
		if !has {
			if m := ensureMap(c.node, "securityContext"); m != nil {
				if cm := ensureMap(m, "capabilities"); cm != nil {
					if i := keyIndex(cm, "drop"); i >= 0 && object.Resolve(cm.Content[i+1]).Kind == yaml.SequenceNode {
						if cm.Content[i+1].Kind == yaml.AliasNode {
							cm.Content[i+1] = deepCopy(cm.Content[i+1], 0)
						}
						s := cm.Content[i+1]
						s.Content = append(s.Content, scalar("!!str", "ALL"))
					} else {
						deleteKey(cm, "drop")
						s := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
						all := scalar("!!str", "ALL")
						all.Style = yaml.DoubleQuotedStyle
						s.Content = []*yaml.Node{all}
						insertKey(cm, "drop", s)
					}
					f.record("capabilities-drop-all", c.path+".securityContext.capabilities.drop", false)
				}
			}
		}
	}
}

// tmpVolume mounts an emptyDir at /tmp in c unless /tmp is mounted
// already, and records the volume and the mount it adds, by index.
func (f *fixer) tmpVolume(c container) {
	for _, vm := range seqItems(c.node, "volumeMounts") {
		if p := strings.TrimRight(object.GetStr(vm, "mountPath"), "/"); p == "/tmp" {
			return
		}
	}
	// An emptyDir of either name is shared; a name another volume holds
	// is not reused.
	name, exists := "", false
names:
	for _, n := range []string{"tmp", "kubeharden-tmp"} {
		for _, v := range seqItems(f.pod.Node, "volumes") {
			if object.GetStr(v, "name") == n {
				if object.Get(v, "emptyDir") == nil {
					continue names
				}
				exists = true
				break
			}
		}
		name = n
		break
	}
	if name == "" {
		return
	}
	if !exists {
		if !appendItem(f.pod.Node, "volumes", map2("name", name, "emptyDir", "")) {
			return
		}
		f.record("read-only-root-filesystem", f.path+".volumes["+strconv.Itoa(len(seqItems(f.pod.Node, "volumes"))-1)+"]", true)
	}
	if appendItem(c.node, "volumeMounts", map2("name", name, "mountPath", "/tmp")) {
		f.record("read-only-root-filesystem", c.path+".volumeMounts["+strconv.Itoa(len(seqItems(c.node, "volumeMounts"))-1)+"]", true)
	}
}

// map2 builds {k1: v1, k2: v2}; an empty v2 is an empty mapping.
func map2(k1, v1, k2, v2 string) *yaml.Node {
	m := newMap()
	m.Content = append(m.Content, scalar("!!str", k1), scalar("!!str", v1), scalar("!!str", k2))
	if v2 == "" {
		e := newMap()
		e.Style = yaml.FlowStyle
		m.Content = append(m.Content, e)
	} else {
		m.Content = append(m.Content, scalar("!!str", v2))
	}
	return m
}

// appendItem appends item to the sequence under key of m, creating it.
func appendItem(m *yaml.Node, key string, item *yaml.Node) bool {
	i := keyIndex(m, key)
	if i < 0 {
		if merged := object.Get(m, key); merged != nil {
			return false
		}
		insertKey(m, key, &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: []*yaml.Node{item}})
		return true
	}
	v := m.Content[i+1]
	switch r := object.Resolve(v); {
	case object.IsNull(v):
		m.Content[i+1] = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: []*yaml.Node{item}}
	case r.Kind != yaml.SequenceNode:
		return false
	default:
		if v.Kind == yaml.AliasNode {
			v = deepCopy(v, 0)
			m.Content[i+1] = v
		}
		if v.Style&yaml.FlowStyle != 0 {
			item.Style = yaml.FlowStyle
		}
		v.Content = append(v.Content, item)
	}
	return true
}
