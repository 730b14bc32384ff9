package admissionpolicy

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"k8s.io/pod-security-admission/api"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/checks"
)

// The Pod Security Standards in CEL, control by control, as
// k8s.io/pod-security-admission evaluates them at pssMinor (the newest
// version it knows): pss-baseline and pss-restricted judge with that
// library, so their policies must mean what it means, including where it
// differs from kubeharden's own checks (capability names compared
// exactly, Windows pods exempt from some restricted controls only, user
// namespaces relaxing the root controls). The library's fixtures of that
// version run through TestEquivalence.
const pssMinor = 37

// pssCovered says whether the configured podSecurityVersion is judged by
// the rules the CEL encodes, and why not: the checks judge a version as
// checks.PSSVersion reads it, and latest, or any version at or past the
// newest one the library knows, as that newest one.
func pssCovered(p *check.Params) (bool, string) {
	encoded := api.MajorMinorVersion(1, pssMinor)
	if n := checks.PSSNewest(); n != encoded {
		return false, "the policies encode Pod Security v1." + strconv.Itoa(pssMinor) +
			" but kubeharden judges with its rules of " + n.String()
	}
	if v := checks.PSSVersion(p.PodSecurityVersion); v.Latest() || !v.Older(encoded) {
		return true, ""
	}
	return false, "parameters.podSecurityVersion " + p.PodSecurityVersion + ": the policies encode only v1." +
		strconv.Itoa(pssMinor) + " and later (Kubernetes' own PodSecurity admission enforces older versions: label the namespace)"
}

// celList is a CEL list literal of strings.
func celList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = "'" + celQuote(s) + "'"
	}
	return "[" + strings.Join(q, ", ") + "]"
}

var (
	pssDefaultCaps = []string{"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
		"NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}
	pssSysctls = []string{"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
		"net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start", "net.ipv4.ip_local_reserved_ports",
		"net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
		"net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem",
		"net.ipv4.tcp_slow_start_after_idle", "net.ipv4.tcp_notsent_lowat"}
	pssSELinuxTypes = []string{"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}
	// pssVolumes are the volume sources restricted allows.
	pssVolumes = []string{"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image",
		"persistentVolumeClaim", "projected", "secret"}
)

const (
	pssNotWindows = "$spec.?os.?name.orValue('') != 'windows'"
	// pssUserNS: a pod in a user namespace is relaxed from the root
	// controls (relaxPolicyForUserNamespacePod).
	pssUserNS  = "$spec.?hostUsers.orValue(true) == false"
	pssProfile = "['RuntimeDefault', 'Localhost']"
)

// pssHosts is true when a probe or lifecycle handler of c names a host.
func pssHosts() string {
	var terms []string
	for _, h := range []string{"livenessProbe", "readinessProbe", "startupProbe", "lifecycle.?postStart", "lifecycle.?preStop"} {
		for _, k := range []string{"httpGet", "tcpSocket"} {
			terms = append(terms, "c.?"+h+".?"+k+".?host.orValue('') != ''")
		}
	}
	return strings.Join(terms, " || ")
}

// pssSELinux is true for SELinux options o that baseline forbids.
func pssSELinux(o string) string {
	return o + ".hasValue() && !(" + o + ".value().?type.orValue('') in " + celList(pssSELinuxTypes) +
		" && " + o + ".value().?user.orValue('') == '' && " + o + ".value().?role.orValue('') == '')"
}

// pssBadType is true for a profile o whose type is set to another value
// than RuntimeDefault or Localhost.
func pssBadType(o string) string {
	return o + ".hasValue() && !(" + o + ".value().?type.orValue('') in " + pssProfile + ")"
}

// The baseline controls, by ID as the library names them, over a
// container c (container) or the pod (pod).
var (
	pssBaselineContainer = map[string]string{
		"privileged":                 sc("privileged") + ".orValue(false) == true",
		"capabilities_baseline":      sc("capabilities.?add") + ".orValue([]).exists(a, !(a in " + celList(pssDefaultCaps) + "))",
		"hostPorts":                  "c.?ports.orValue([]).exists(p, p.?hostPort.orValue(0) != 0)",
		"windowsHostProcess":         sc("windowsOptions.?hostProcess") + ".orValue(false) == true",
		"hostProbesAndHostLifecycle": pssHosts(),
		"procMount":                  "!(" + pssUserNS + ") && " + sc("procMount") + ".orValue('Default') != 'Default'",
		"seLinuxOptions":             pssSELinux(sc("seLinuxOptions")),
		"seccompProfile_baseline":    pssBadType(sc("seccompProfile")),
		"appArmorProfile":            pssBadType(sc("appArmorProfile")),
	}
	pssBaselinePod = map[string]string{
		"hostNamespaces":          "$spec.?hostNetwork.orValue(false) == true || $spec.?hostPID.orValue(false) == true || $spec.?hostIPC.orValue(false) == true",
		"hostPathVolumes":         "$spec.?volumes.orValue([]).exists(v, has(v.hostPath))",
		"windowsHostProcess":      podSC("windowsOptions.?hostProcess") + ".orValue(false) == true",
		"seLinuxOptions":          pssSELinux(podSC("seLinuxOptions")),
		"seccompProfile_baseline": pssBadType(podSC("seccompProfile")),
		"appArmorProfile": pssBadType(podSC("appArmorProfile")) + " || $meta.?annotations.orValue({}).exists(k, " +
			"k.startsWith('container.apparmor.security.beta.kubernetes.io/') && " +
			bind("v", "$meta.annotations[k]", "!(v == '' || v == 'runtime/default' || v.startsWith('localhost/'))") + ")",
		"sysctls": podSC("sysctls") + ".orValue([]).exists(s, !(s.name in " + celList(pssSysctls) + "))",
	}
	// The restricted controls, and the baseline ones each replaces.
	pssRestrictedContainer = map[string]string{
		"allowPrivilegeEscalation": pssNotWindows + " && " + sc("allowPrivilegeEscalation") + ".orValue(true) != false",
		"capabilities_restricted": pssNotWindows + " && (!" + sc("capabilities.?drop") + ".orValue([]).exists(d, d == 'ALL') || " +
			sc("capabilities.?add") + ".orValue([]).exists(a, a != 'NET_BIND_SERVICE'))",
		"runAsNonRoot": "!(" + pssUserNS + ") && (" + sc("runAsNonRoot") + ".hasValue() ? " + sc("runAsNonRoot") + ".value() == false : " +
			podSC("runAsNonRoot") + ".orValue(false) != true)",
		"runAsUser": "!(" + pssUserNS + ") && " + sc("runAsUser") + ".orValue(-1) == 0",
		"seccompProfile_restricted": pssNotWindows + " && (" + sc("seccompProfile") + ".hasValue() ? " + pssBadType(sc("seccompProfile")) +
			" : !(" + podSC("seccompProfile") + ".hasValue() && " + podSC("seccompProfile") + ".value().?type.orValue('') in " + pssProfile + "))",
		"procMount_restricted": sc("procMount") + ".orValue('Default') != 'Default'",
	}
	pssRestrictedPod = map[string]string{
		"runAsNonRoot":              "!(" + pssUserNS + ") && " + podSC("runAsNonRoot") + ".orValue(true) == false",
		"runAsUser":                 "!(" + pssUserNS + ") && " + podSC("runAsUser") + ".orValue(-1) == 0",
		"seccompProfile_restricted": pssNotWindows + " && " + pssBadType(podSC("seccompProfile")),
		"restrictedVolumes":         "$spec.?volumes.orValue([]).exists(v, !(" + pssVolumeOK() + "))",
	}
	pssOverrides = map[string]bool{
		"capabilities_baseline": true, "hostPathVolumes": true, "seccompProfile_baseline": true, "procMount": true,
	}
)

func pssVolumeOK() string {
	terms := make([]string, len(pssVolumes))
	for i, v := range pssVolumes {
		terms[i] = "has(v." + v + ")"
	}
	return strings.Join(terms, " || ")
}

// pssAny joins the controls of sets, but those restricted replaces when
// restricted is true, in a stable order.
func pssAny(restricted bool, sets ...map[string]string) string {
	var terms []string
	for i, set := range sets {
		for _, id := range slices.Sorted(maps.Keys(set)) {
			if restricted && i == 0 && pssOverrides[id] {
				continue
			}
			terms = append(terms, "("+set[id]+")")
		}
	}
	return strings.Join(terms, " || ")
}

func pssRule(restricted bool) rule {
	level := "baseline"
	container := pssAny(false, pssBaselineContainer)
	pod := pssAny(false, pssBaselinePod)
	if restricted {
		level = "restricted"
		container = pssAny(true, pssBaselineContainer, pssRestrictedContainer)
		pod = pssAny(true, pssBaselinePod, pssRestrictedPod)
	}
	return rule{
		ephemeral: true,
		container: fixed(container),
		pod:       fixed(pod),
		covered:   pssCovered,
		want: func(p *check.Params) string {
			return "would violate PodSecurity \"" + level + ":" + pssVersionText(p) + "\" (kubeharden scan names every reason)"
		},
	}
}

func pssVersionText(p *check.Params) string {
	if p.PodSecurityVersion == "" {
		return "latest"
	}
	return p.PodSecurityVersion
}
