package checks

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/check/clustercheck"
)

// Nodes must get their OS patches: something must reboot them when an
// update needs it, and the nodes of one pool must run the same kernel and
// OS image, since a node left behind keeps the vulnerabilities the others
// were patched for.
//
// Fields (a live cluster only: offline no node is known): the node
// updaters deployed (a DaemonSet running Kured, whose image's repository
// name contains "kured"; any system-upgrade-controller Plan,
// upgrade.cattle.io); the labels that show a node's OS is updated for it
// (cloud.google.com/gke-nodepool, kubernetes.azure.com/agentpool or
// agentpool, eks.amazonaws.com/compute-type=auto,
// bottlerocket.aws/updater-interface-version); each node's
// status.nodeInfo.kernelVersion and osImage, compared within the pool its
// labels name; Kured's reboot-in-progress annotation
// (weave.works/kured-reboot-in-progress, kured.dev/kured-reboot-in-progress)
// Allowed: a node updater, or managed updates on every node; within a
// pool, every node on the kernel and OS image most of the pool runs;
// nodes without a pool label are not compared. A node Kured is about to
// reboot is reported one severity lower.
func init() {
	registerCluster(&clustercheck.Check{
		Meta: check.Meta{
			ID:       "node-os-patching",
			Title:    "Node OS patches not applied",
			Severity: check.Medium,
			Description: "A node's kernel and system libraries are patched by its OS package manager, and most kernel and libc fixes take effect only after a reboot. " +
				"Managed Kubernetes offerings patch the control plane, not necessarily the worker nodes: without something that reboots nodes when an update needs it, " +
				"such as Kured (which watches /var/run/reboot-required, then cordons, drains and reboots one node at a time), system-upgrade-controller Plans, " +
				"or a provider's automatic node image upgrades, patches pile up unapplied. " +
				"Nodes of one pool are built from one image, so a node whose kernel or OS image differs from the rest of its pool was left out of an update. " +
				"The check reads nodes and node updaters of a live cluster; offline, or where the credentials cannot read them, it stays silent.",
			Remediation: "Deploy Kured (or system-upgrade-controller with a Plan that patches the OS), or turn on the provider's automatic node OS or image upgrades; " +
				"replace or upgrade the nodes that lag behind their pool, and let the nodes Kured marks finish their reboot.",
			References: []string{
				seed000 + "patch your master and data nodes",
				nsaCISA + "upgrading and application security practices",
			},
		},
		Run: nodeOSPatching,
	})
}

func nodeOSPatching(p *clustercheck.Pass) {
	live := p.Target.Live
	if live == nil || !live.NodesKnown {
		return
	}
	if live.UpdatersKnown && len(live.Updaters) == 0 {
		var unmanaged []string
		for _, n := range live.Nodes {
			if n.ManagedUpdates == "" {
				unmanaged = append(unmanaged, n.Name)
			}
		}
		if len(unmanaged) > 0 {
			p.Report("updaters", "no node updater is deployed (a Kured DaemonSet or a system-upgrade-controller Plan) and %s of %d show no managed OS updates (%s): OS patches that need a reboot are never applied",
				nodeCount(len(unmanaged)), len(live.Nodes), quotedSample(unmanaged, 5))
		}
	}
	nodePoolDrift(p, live.Nodes)
	for _, n := range live.Nodes {
		if n.RebootPending == "" {
			continue
		}
		key, value, _ := strings.Cut(n.RebootPending, "=")
		p.ReportLower("nodes/"+n.Name+"/annotations/"+key, "node %q needs a reboot to apply OS updates (Kured annotation %s since %s)", n.Name, key, value)
	}
}

// nodeImage is what a node runs below Kubernetes.
type nodeImage struct{ kernel, os string }

func (m nodeImage) String() string { return fmt.Sprintf("kernel %s (%s)", m.kernel, m.os) }

// nodePoolDrift reports the nodes of a pool that do not run the kernel and
// OS image most of the pool runs (on a tie, the newest of them).
func nodePoolDrift(p *clustercheck.Pass, nodes []clustercheck.Node) {
	pools := map[string][]clustercheck.Node{}
	for _, n := range nodes {
		if n.Pool != "" && n.KernelVersion != "" && n.OSImage != "" {
			pools[n.Pool] = append(pools[n.Pool], n)
		}
	}
	for _, pool := range slices.Sorted(maps.Keys(pools)) {
		members := pools[pool]
		count := map[nodeImage]int{}
		for _, n := range members {
			count[nodeImage{n.KernelVersion, n.OSImage}]++
		}
		if len(count) < 2 {
			continue
		}
		images := slices.Collect(maps.Keys(count))
		common := slices.MaxFunc(images, func(a, b nodeImage) int {
			return cmp.Or(cmp.Compare(count[a], count[b]), naturalCompare(a.kernel, b.kernel), naturalCompare(a.os, b.os))
		})
		for _, n := range members {
			img := nodeImage{n.KernelVersion, n.OSImage}
			if img == common {
				continue
			}
			field := "kernelVersion"
			if img.kernel == common.kernel {
				field = "osImage"
			}
			p.Report("nodes/"+n.Name+"/"+field, "node %q of pool %s runs %s while %d of its %d nodes run %s: a node left out of an update misses its patches",
				n.Name, pool, img, count[common], len(members), common)
		}
	}
}

// naturalCompare compares version strings with their digit runs as
// numbers, so that kernel 6.1.10 sorts after 6.1.9.
func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		da, db := digitRun(a), digitRun(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if c := cmp.Or(cmp.Compare(len(na), len(nb)), strings.Compare(na, nb)); c != 0 {
				return c
			}
			a, b = a[da:], b[db:]
			continue
		}
		if c := cmp.Compare(a[0], b[0]); c != 0 {
			return c
		}
		a, b = a[1:], b[1:]
	}
	return cmp.Compare(len(a), len(b))
}

func digitRun(s string) int {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

func nodeCount(n int) string {
	if n == 1 {
		return "1 node"
	}
	return strconv.Itoa(n) + " nodes"
}

// quotedSample quotes the first max names and counts the rest.
func quotedSample(names []string, max int) string {
	var b strings.Builder
	for i, n := range names {
		if i == max {
			fmt.Fprintf(&b, " and %d more", len(names)-max)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(n))
	}
	return b.String()
}
