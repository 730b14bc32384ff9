package admissionpolicy

import (
	"slices"
	"strconv"
	"strings"

	"github.com/kubeharden/kubeharden/internal/check"
)

// A rule is the CEL form of one object check over pod specs. Its
// expressions are templates over the pod spec ($spec), the pod metadata
// ($meta) and, for container conditions, the container (c): the generator
// instantiates them once for the object and once for the old object of an
// UPDATE. Each must mean exactly what the check's Run means.
type rule struct {
	// linux exempts pods with spec.os.name windows (check.LinuxPodSpecs).
	linux bool
	// ephemeral includes ephemeral containers (the resource checks skip
	// them: they cannot have resources).
	ephemeral bool
	// container is true for a container that has a finding; "" when the
	// check has only pod-level findings.
	container func(p *check.Params) string
	// pod is true for a pod-level finding; "" when there is none.
	pod func(p *check.Params) string
	// want completes the message after the offending containers or "pod".
	want func(p *check.Params) string
	// covered, when set, says whether the parameters can be expressed,
	// and why not.
	covered func(p *check.Params) (bool, string)
}

// notCovered says why a check has no policy.
var notCovered = map[string]string{
	"automount-service-account-token": "whether a pod mounts a token depends on its ServiceAccount, another object",
	"namespace-pod-security-label":    "judges a Namespace by the workloads in it, other objects",
	"network-policy-coverage":         "needs the NetworkPolicies of the namespace, other objects",
	"namespace-default-deny":          "needs the NetworkPolicies of the namespace, other objects",
	"cross-namespace-ingress":         "needs the namespaces and pods a NetworkPolicy selects, other objects",
	"label-selector":                  "compares selectors with the labels of other objects",
	"rbac-anonymous-binding":          "RBAC: resolves bindings against roles, other objects",
	"rbac-authorization":              "RBAC: resolves bindings against roles, other objects",
	"rbac-cluster-admin-binding":      "RBAC: resolves bindings against roles, other objects",
	"rbac-dangerous-permissions":      "RBAC: resolves bindings against roles, other objects",
	"rbac-dangling-binding":           "RBAC: a binding's subject or role is another object",
	"rbac-wildcard":                   "RBAC: resolves bindings against roles, other objects",
	"service-account-token-secret":    "judges a Secret by the ServiceAccount it names, another object",
	"anonymous-access":                "RBAC: resolves bindings against roles, other objects",
	"default-namespace":               "at admission every namespaced object has a namespace, and denying all of them in default would also block the API server's own objects there (the kubernetes Service, Events)",
	"deprecated-api":                  "a removed API version never reaches admission: the API server refuses it first",
	"helm-tiller":                     "recognises Tiller by names and images across kinds, not a field rule; left to the scanner",
}

// sc reads an optional field of the container's securityContext.
func sc(field string) string { return "c.?securityContext.?" + field }

// podSC reads an optional field of the pod's securityContext.
func podSC(field string) string { return "$spec.?securityContext.?" + field }

// effective is the container's value of a field, else the pod's, else def,
// as the kubelet merges them.
func effective(field, def string) string {
	return sc(field) + ".orValue(" + podSC(field) + ".orValue(" + def + "))"
}

// capabilityList lists, for names normalised as the checks normalise them
// (upper case, without CAP_), every spelling a raw value may have once
// trimmed and upper-cased: the name, and CAP_ followed by it.
func capabilityList(names []string) string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, strconv.Quote(s))
		}
	}
	for _, n := range names {
		n = strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(n)), "CAP_")
		if !strings.HasPrefix(n, "CAP_") {
			add(n)
		}
		add("CAP_" + n)
	}
	return "[" + strings.Join(out, ", ") + "]"
}

// capNorm is a raw capability as the checks compare it, but for the CAP_
// prefix (see capabilityList).
const capNorm = "a.trim().upperAscii()"

// profileOK is true for a seccompProfile or appArmorProfile that confines.
func profileOK(pr string) string {
	return "(" + pr + ".?type.orValue('') == 'RuntimeDefault' || (" + pr + ".?type.orValue('') == 'Localhost' && " + pr + ".?localhostProfile.orValue('') != ''))"
}

// idRange is true for an ID outside [lo, hi] (hi 0: no maximum) or unset
// (-1), as reportIDRange judges it.
func idRange(v string, lo, hi int64) string {
	cond := v + " < 0 || " + v + " < " + strconv.FormatInt(lo, 10)
	if hi != 0 {
		cond += " || " + v + " > " + strconv.FormatInt(hi, 10)
	}
	return cond
}

// The image reference grammar of github.com/distribution/reference, which
// internal/imageref (and the kubelet) parse images with, as RE2 pieces.
const (
	refDomainComponent = `(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])`
	refDomain          = `(?:` + refDomainComponent + `(?:\.` + refDomainComponent + `)*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?`
	refPathComponent   = `[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*`
	refName            = `(?:` + refDomain + `/)?` + refPathComponent + `(?:/` + refPathComponent + `)*`
	refTag             = `[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,127}`
	// refDigest is the grammar's digest narrowed to what go-digest then
	// validates: a known algorithm (sha384 and sha512 as imageref links
	// them in) with exactly its length of lower-case hex.
	refDigest = `(?:sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128})`
	refFull   = `^` + refName + `(?::` + refTag + `)?(?:@` + refDigest + `)?$`
	// refMaxPath is the longest repository path (the name without its
	// registry) reference.Parse accepts.
	refMaxPath = 255
)

// imageRef binds, over the container c, img to its image, nt to the image
// without its digest, tag to its tag ("" when none is written: the part
// after the last ':' unless a '/' follows, which makes it a registry
// port) and valid to whether imageref.Parse accepts the image, and
// evaluates body, a condition over them, for an image that is set (the
// loader reports a missing one).
func imageRef(body string) string {
	colon := "nt.lastIndexOf(':')"
	tagExpr := colon + " >= 0 && !nt.substring(" + colon + " + 1).contains('/') ? nt.substring(" + colon + " + 1) : ''"
	// The registry is the first component when the name has more than
	// one and the first is a host, as reference.Parse splits it.
	first := "name.split('/')[0]"
	path := "name.contains('/') && " + first + ".matches('" + celQuote("^"+refDomain+"$") + "') ? name.substring(size(" + first + ") + 1) : name"
	validExpr := "img.matches('" + celQuote(refFull) + "') && (size(img) <= " + strconv.Itoa(refMaxPath) +
		" || " + bind("name", "tag == '' ? nt : nt.substring(0, size(nt) - size(tag) - 1)", "size("+path+") <= "+strconv.Itoa(refMaxPath)) + ")"
	return bind("img", "c.?image.orValue('')", "img != '' && "+
		bind("nt", "img.split('@')[0]", bind("tag", tagExpr, bind("valid", validExpr, body))))
}

// bind evaluates body with v bound to the value of expr. (The API server's
// CEL environment has no cel.bind: a one-element list's exists binds.)
func bind(v, expr, body string) string {
	return "[" + expr + "].exists(" + v + ", " + body + ")"
}

func fixed(s string) func(*check.Params) string { return func(*check.Params) string { return s } }

// rules are the covered checks.
var rules = map[string]rule{
	"pss-baseline":   pssRule(false),
	"pss-restricted": pssRule(true),
	"privileged-container": {
		ephemeral: true,
		container: fixed(sc("privileged") + ".orValue(false) == true"),
		want:      fixed("must not set securityContext.privileged=true"),
	},
	"allow-privilege-escalation": {
		linux:     true,
		ephemeral: true,
		container: fixed(sc("privileged") + ".orValue(false) == true || " +
			sc("capabilities.?add") + ".orValue([]).exists(a, " + capNorm + " in " + capabilityList([]string{"SYS_ADMIN", "ALL"}) + ") || " +
			sc("allowPrivilegeEscalation") + ".orValue(true) != false"),
		want: fixed("must set securityContext.allowPrivilegeEscalation=false, without privileged=true or capability SYS_ADMIN (or ALL) added"),
	},
	"capabilities-added": {
		linux:     true,
		ephemeral: true,
		container: func(p *check.Params) string {
			return sc("capabilities.?add") + ".orValue([]).exists(a, !(" + capNorm + " in " + capabilityList(p.AllowedCapabilities) + "))"
		},
		want: func(p *check.Params) string {
			var names []string
			for _, a := range p.AllowedCapabilities {
				if n := strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(a)), "CAP_"); !slices.Contains(names, n) {
					names = append(names, n)
				}
			}
			if len(names) == 0 {
				return "must not add capabilities in securityContext.capabilities.add"
			}
			return "must not add capabilities in securityContext.capabilities.add but " + strings.Join(names, ", ")
		},
	},
	"capabilities-drop-all": {
		linux:     true,
		ephemeral: true,
		container: fixed("!" + sc("capabilities.?drop") + ".orValue([]).exists(d, d.trim().upperAscii() == 'ALL')"),
		want:      fixed(`must set securityContext.capabilities.drop=["ALL"]`),
	},
	"host-namespaces": {
		pod:  fixed("$spec.?hostNetwork.orValue(false) == true || $spec.?hostPID.orValue(false) == true || $spec.?hostIPC.orValue(false) == true"),
		want: fixed("must not set hostNetwork, hostPID or hostIPC to true"),
	},
	"read-only-root-filesystem": {
		linux:     true,
		ephemeral: true,
		container: fixed(sc("readOnlyRootFilesystem") + ".orValue(false) != true"),
		want:      fixed("must set securityContext.readOnlyRootFilesystem=true"),
	},
	"run-as-non-root": {
		ephemeral: true,
		container: fixed(effective("runAsUser", "-1") + " == 0 || " +
			effective("runAsNonRoot", "true") + " == false || !(" +
			effective("runAsNonRoot", "false") + " == true || " + effective("runAsUser", "-1") + " > 0)"),
		want: fixed("must set securityContext.runAsNonRoot=true or runAsUser > 0 (container or pod), and neither runAsUser=0 nor runAsNonRoot=false"),
	},
	"run-as-high-uid": {
		linux:     true,
		ephemeral: true,
		container: func(p *check.Params) string { return idRange(effective("runAsUser", "-1"), p.MinUID, p.MaxUID) },
		want: func(p *check.Params) string {
			return "must set securityContext.runAsUser" + check.RangeText(p.MinUID, p.MaxUID) + " (container or pod)"
		},
	},
	"run-as-high-gid": {
		linux:     true,
		ephemeral: true,
		container: func(p *check.Params) string { return idRange(effective("runAsGroup", "-1"), p.MinGID, p.MaxGID) },
		want: func(p *check.Params) string {
			return "must set securityContext.runAsGroup" + check.RangeText(p.MinGID, p.MaxGID) + " (container or pod)"
		},
	},
	"fs-group": {
		linux: true,
		pod:   func(p *check.Params) string { return idRange(podSC("fsGroup")+".orValue(-1)", p.MinGID, p.MaxGID) },
		want: func(p *check.Params) string {
			return "must set spec.securityContext.fsGroup" + check.RangeText(p.MinGID, p.MaxGID)
		},
	},
	"seccomp-profile": {
		linux:     true,
		ephemeral: true,
		container: fixed(sc("seccompProfile") + ".hasValue() ? !" + profileOK("c.securityContext.seccompProfile") +
			" : !" + podSC("seccompProfile") + ".hasValue()"),
		pod:  fixed(podSC("seccompProfile") + ".hasValue() && !" + profileOK("$spec.securityContext.seccompProfile")),
		want: fixed(`must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost" (container or pod)`),
	},
	"apparmor-profile": {
		linux:     true,
		ephemeral: true,
		container: func(*check.Params) string {
			ann := "$meta.?annotations[?('" + "container.apparmor.security.beta.kubernetes.io/" + "' + c.name)]"
			return sc("appArmorProfile") + ".hasValue() ? !" + profileOK("c.securityContext.appArmorProfile") +
				" : (c.name != '' && " + ann + ".hasValue()) ? !(" + ann + ".value() == 'runtime/default' || (" +
				ann + ".value().startsWith('localhost/') && size(" + ann + ".value()) > 10))" +
				" : !" + podSC("appArmorProfile") + ".hasValue()"
		},
		pod:  fixed(podSC("appArmorProfile") + ".hasValue() && !" + profileOK("$spec.securityContext.appArmorProfile")),
		want: fixed(`must set securityContext.appArmorProfile.type to "RuntimeDefault" or "Localhost" (container or pod, or annotation runtime/default or localhost/<profile>)`),
	},
	"host-path-volume": {
		pod:  fixed("$spec.?volumes.orValue([]).exists(v, has(v.hostPath))"),
		want: fixed("must not mount hostPath volumes (spec.volumes[*].hostPath)"),
	},
	"resources-limits": {
		container: func(p *check.Params) string {
			s := "!c.?resources.?limits.?memory.hasValue()"
			if p.CPULimits {
				s += " || !c.?resources.?limits.?cpu.hasValue()"
			}
			return s
		},
		want: func(p *check.Params) string {
			if p.CPULimits {
				return "must set resources.limits.cpu and resources.limits.memory"
			}
			return "must set resources.limits.memory"
		},
	},
	"image-tag": {
		ephemeral: true,
		// A digest pins the image whatever the tag says; an invalid
		// reference is a finding, as the scanner reports it.
		container: fixed(imageRef("!valid || (!img.contains('@') && (tag == '' || tag == 'latest'))")),
		want:      fixed("must reference the image by a version tag other than latest, or by digest, in a valid image reference"),
	},
	"image-digest": {
		ephemeral: true,
		container: fixed(imageRef("!valid || !img.contains('@sha256:')")),
		want:      fixed("must pin the image by a sha256 digest (name:tag@sha256:<digest>)"),
	},
	"resources-requests": {
		container: fixed("!(c.?resources.?requests.?cpu.hasValue() || c.?resources.?limits.?cpu.hasValue()) || " +
			"!(c.?resources.?requests.?memory.hasValue() || c.?resources.?limits.?memory.hasValue())"),
		want: fixed("must set resources.requests.cpu and resources.requests.memory (or the limits)"),
	},
}
