package checks

import (
	"slices"
	"strings"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/object"
	"github.com/kubeharden/kubeharden/internal/yamledit"
	"go.yaml.in/yaml/v3"
)

// Containers should drop all capabilities: the runtime's default set
// (CHOWN, DAC_OVERRIDE, FOWNER, SETUID, SETGID, NET_RAW, KILL...) lets root in
// the container ignore file permissions, change owners, switch users and
// forge packets, none of which most applications need. Dropping ALL and
// adding back the few needed is the least-privilege form.
//
// Fields: securityContext.capabilities.drop of init, regular and ephemeral
// containers
// Allowed: a list that contains ALL (any case)
func init() {
	register(&check.ObjectCheck{
		Meta: check.Meta{
			ID:       "capabilities-drop-all",
			Title:    "Capabilities not dropped",
			Severity: check.Medium,
			Description: "Unless a container drops them, the runtime grants it a default set of capabilities, " +
				"among them DAC_OVERRIDE, CHOWN, FOWNER, SETUID, SETGID and NET_RAW: a root process can ignore file permissions, " +
				"change file owners, switch users, and forge packets on the node's network. " +
				"Dropping ALL removes them, also for a process that becomes root through a setuid binary or a misconfigured runAsUser.",
			Remediation: "Set securityContext.capabilities.drop to [ALL] on every container, " +
				"and add back only the capabilities it needs in capabilities.add (NET_BIND_SERVICE to bind a port below 1024).",
			References: []string{
				pssRestricted + " (Capabilities)",
				seed000 + "enforce user-mode containers",
				nsaCISA + "non-root containers and least privilege",
			},
		},
		Applies: check.LinuxPodSpecs,
		Run:     capabilitiesDropAll,
		Fix:     &check.Fix{Apply: fixCapabilitiesDropAll, Order: orderContainerFields + 2},
	})
}

func capabilitiesDropAll(p *check.Pass) {
	for _, c := range p.Pod.Containers {
		sc := &c.SecurityContext
		var dropped []string
		all := false
		for _, d := range sc.CapDrop {
			if strings.EqualFold(strings.TrimSpace(d.V), "ALL") {
				all = true
				break
			}
			dropped = append(dropped, d.V)
		}
		if all {
			continue
		}
		note := ""
		switch {
		case len(dropped) > 0:
			note = ", not only " + strings.Join(dropped, ", ")
		case !sc.Capabilities.Set:
			note = ignoredAtPodLevel(p, "capabilities")
		}
		p.Report(sc.CapDropRef, "%s must set securityContext.capabilities.drop=[\"ALL\"]%s", c.Describe(), note)
	}
}

// fixCapabilitiesDropAll adds ALL to capabilities.drop.
func fixCapabilitiesDropAll(p *check.FixPass) {
	for _, c := range foundContainers(p) {
		drop := object.Get(object.Get(c.SecurityContext.Node, "capabilities"), "drop")
		if drop != nil && drop.Kind == yaml.SequenceNode && slices.ContainsFunc(drop.Content, func(d *yaml.Node) bool { return object.Scalar(d) == "ALL" }) {
			continue
		}
		m := containerSC(c)
		if m == nil {
			continue
		}
		cm := yamledit.EnsureMap(m, "capabilities")
		if cm == nil {
			continue
		}
		if i := yamledit.KeyIndex(cm, "drop"); i >= 0 && object.Resolve(cm.Content[i+1]).Kind == yaml.SequenceNode {
			if cm.Content[i+1].Kind == yaml.AliasNode {
				cm.Content[i+1] = yamledit.DeepCopy(cm.Content[i+1], 0)
			}
			s := cm.Content[i+1]
			s.Content = append(s.Content, yamledit.Scalar("!!str", "ALL"))
		} else {
			yamledit.DeleteKey(cm, "drop")
			s := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
			all := yamledit.Scalar("!!str", "ALL")
			all.Style = yaml.DoubleQuotedStyle
			s.Content = []*yaml.Node{all}
			yamledit.InsertKey(cm, "drop", s)
		}
		p.Changed(c.Ref.Path + ".securityContext.capabilities.drop")
	}
}
