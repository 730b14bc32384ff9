package checks

import (
	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/check/clustercheck"
	"github.com/kubeharden/kubeharden/internal/k8sversion"
)

// Every node's kubelet must be within the version skew policy: not newer
// than the API server, and at most three minors older (two before 1.28).
// Outside it, upstream tests nothing, and an old kubelet misses the
// security fixes of every release since.
//
// Fields: each node's status.nodeInfo.kubeletVersion against the API
// server's version (a live cluster only: offline no node is known)
// Allowed: a kubelet of the API server's minor or up to three minors
// older (two when the API server is older than 1.28); a kubelet version
// that does not parse is not judged
func init() {
	registerCluster(&clustercheck.Check{
		Meta: check.Meta{
			ID:       "node-version-skew",
			Title:    "Kubelet outside the version skew policy",
			Severity: check.Medium,
			Description: "The Kubernetes version skew policy lets a kubelet be up to three minor versions older than kube-apiserver (two before 1.28), and never newer. " +
				"A node outside it runs a combination upstream neither tests nor patches: an old kubelet keeps the vulnerabilities fixed in the releases it skipped, " +
				"and usually means the node was left out of the last upgrades, so it misses the OS patches that came with them too; " +
				"a kubelet newer than the API server may rely on APIs the server does not serve. " +
				"The check reads the version each node's kubelet reports; offline it has nothing to judge and stays silent.",
			Remediation: "Upgrade the nodes outside the policy (drain, upgrade or replace, uncordon), one minor at a time; " +
				"upgrade the control plane before the nodes, never after them.",
			References: []string{
				seed000 + "keep your Kubernetes cluster as updated as possible",
				seed000 + "patch your master and data nodes",
				nsaCISA + "upgrading and application security practices",
			},
		},
		Run: nodeVersionSkew,
	})
}

// kubeletSkew is how many minors a kubelet may lag behind an API server
// of version v.
func kubeletSkew(v k8sversion.Version) int {
	if v.Less(k8sversion.Version{Major: 1, Minor: 28}) {
		return 2
	}
	return 3
}

func nodeVersionSkew(p *clustercheck.Pass) {
	live, api := p.Target.Live, p.Target.Version
	if live == nil || !live.NodesKnown {
		return
	}
	allowed := kubeletSkew(api)
	for _, n := range live.Nodes {
		kv, err := k8sversion.Parse(n.KubeletVersion)
		if err != nil {
			continue
		}
		path := "nodes/" + n.Name + "/kubeletVersion"
		switch behind := api.Minor - kv.Minor; {
		case api.Less(kv):
			p.Report(path, "node %q runs kubelet %s, newer than the API server's %s: a kubelet must never be newer than kube-apiserver",
				n.Name, n.KubeletVersion, api)
		case behind > allowed:
			p.Report(path, "node %q runs kubelet %s, %d minor versions behind the API server's %s (at most %d are supported): upgrade the node",
				n.Name, n.KubeletVersion, behind, api, allowed)
		}
	}
}
