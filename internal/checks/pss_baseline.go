package checks

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"

	"github.com/kubeharden/kubeharden/internal/check"
)

// Workloads should be admitted by the Pod Security Standards at level
// baseline: it forbids the known privilege escalations (host namespaces,
// privileged containers, added capabilities, hostPath volumes, host ports,
// unconfined seccomp or AppArmor...), and a namespace labelled
// pod-security.kubernetes.io/enforce=baseline rejects what breaks it.
//
// Fields: the pod template's metadata and spec, evaluated by
// k8s.io/pod-security-admission itself at parameters.podSecurityVersion,
// one finding per workload with every reason, worded as the admission
// controller words them.
// Allowed: what Pod Security admits at baseline
func init() {
	register(&check.ObjectCheck{
		Meta: check.Meta{
			ID:       "pss-baseline",
			Title:    "Pod Security Standards: baseline violated",
			Severity: check.High,
			Description: "The baseline level of the Pod Security Standards forbids the known privilege escalations: " +
				"sharing the host's namespaces, privileged and Windows HostProcess containers, capabilities beyond the default set, " +
				"hostPath volumes, host ports, probe and lifecycle hosts, unconfined seccomp and AppArmor, custom SELinux options, " +
				"unmasked /proc and unsafe sysctls. " +
				"A namespace that enforces baseline, as most clusters should by default, rejects a pod that breaks any of them. " +
				"The workload is evaluated by the official Pod Security admission library at the configured version (parameters.podSecurityVersion), " +
				"so the finding is what the admission controller would say.",
			Remediation: "Remove each field named in the finding, or run the workload in a namespace whose Pod Security level is meant for it " +
				"(privileged, for node agents that need the host) and suppress the finding there with a reason.",
			References: []string{
				pssBaseline,
				seed000 + "enforce user-mode containers",
				nsaCISA + "pod security",
			},
		},
		Applies: check.PodSpecs,
		Run:     pssBaselineRun,
	})
}

// pssEvaluator is the Pod Security policy with every control it ships,
// built once.
var pssEvaluator = sync.OnceValue(func() policy.Evaluator {
	e, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		panic("pod security policy: " + err.Error()) // the library's own checks are valid
	}
	return e
})

// PSSVersion is the Pod Security version pss-baseline and pss-restricted
// judge at for parameters.podSecurityVersion: "latest", or a Kubernetes
// minor version with or without its v ("v1.30", "1.30"). The
// configuration is validated when read; anything else means latest.
func PSSVersion(s string) api.Version {
	s = strings.TrimPrefix(s, "v")
	if minor, ok := strings.CutPrefix(s, "1."); ok {
		if n, err := strconv.Atoi(minor); err == nil && n >= 0 {
			return api.MajorMinorVersion(1, n)
		}
	}
	return api.LatestVersion()
}

// PSSNewest is the newest version at which a Pod Security control
// changed: what latest (and any newer version) means to the library the
// checks judge with.
func PSSNewest() api.Version {
	newest := api.MajorMinorVersion(1, 0)
	for _, c := range policy.DefaultChecks() {
		for _, v := range c.Versions {
			if newest.Older(v.MinimumVersion) {
				newest = v.MinimumVersion
			}
		}
	}
	return newest
}

// pssVerdict is what Pod Security says of one pod at both levels: every
// reason it would reject the pod for, as the admission controller words
// them, "" when the pod is admitted. The two checks share it, so that a
// pod is converted and evaluated once per object and the converted pod is
// not kept with the object.
type pssVerdict struct {
	baseline, restricted string
}

func pssVerdictOf(p *check.Pass) *pssVerdict {
	return p.Object.Memo("pss/pod", func() any {
		// Pods that read the same to Pod Security get the same verdict:
		// the replicas of a template, the pods of a scale set.
		key, keyed := pssVerdictKey(p.Pod.MetaNode, p.Pod.Node, p.Params.PodSecurityVersion)
		if keyed {
			if v, ok := pssVerdicts.Load(key); ok {
				return v
			}
		}
		v := &pssVerdict{}
		pod := pssConvert(p.Pod.MetaNode, p.Pod.Node)
		if !pod.ok {
			return v
		}
		version := PSSVersion(p.Params.PodSecurityVersion)
		v.baseline = pssReasons(pod, api.LevelVersion{Level: api.LevelBaseline, Version: version})
		v.restricted = pssReasons(pod, api.LevelVersion{Level: api.LevelRestricted, Version: version})
		if keyed && pssCached.Add(1) <= pssMaxCached {
			pssVerdicts.Store(key, v)
		}
		return v
	}).(*pssVerdict)
}

// pssVerdicts caches verdicts by what Pod Security reads of a pod (its
// converted JSON and the version), bounded in count and key size so that
// hostile input only stops being cached.
var (
	pssVerdicts sync.Map
	pssCached   atomic.Int64
)

const (
	pssMaxCached = 1024
	pssMaxKey    = 8 << 10
)

func pssReasons(pod *pssPod, lv api.LevelVersion) string {
	res := policy.AggregateCheckResults(pssEvaluator().EvaluatePod(lv, &pod.meta, &pod.spec))
	if res.Allowed {
		return ""
	}
	return res.ForbiddenDetail()
}

// pssReport reports reasons as the admission controller's audit
// annotation says them.
func pssReport(p *check.Pass, level api.Level, reasons string) {
	if reasons == "" {
		return
	}
	lv := api.LevelVersion{Level: level, Version: PSSVersion(p.Params.PodSecurityVersion)}
	p.Report(p.Pod.Ref, "would violate PodSecurity %q: %s", lv.String(), reasons)
}

func pssBaselineRun(p *check.Pass) { pssReport(p, api.LevelBaseline, pssVerdictOf(p).baseline) }
