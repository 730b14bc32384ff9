package checks

import (
	"strconv"

	"go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/object"
	"github.com/kubeharden/kubeharden/internal/yamledit"
)

// What the fixes of several checks share: where pod-level fields go, and
// the security contexts they edit.

// Fix orders: fixes run in this order on one object, which decides where
// new keys land (pod fields above the containers, in the order people
// write them).
const (
	orderAutomount = 10 * (iota + 1)
	orderPrivileged
	orderImage
	orderResources
	orderIdentity
	orderProfiles
	orderContainerFields
)

// podKeysAfterSC are the pod spec keys a new pod-level field goes before,
// so that it sits near the top of the pod spec, above the containers.
var podKeysAfterSC = []string{"initContainers", "containers", "ephemeralContainers", "volumes"}

// podSC returns the pod's securityContext mapping for editing, creating it
// above the containers; nil when it holds something else.
func podSC(p *check.FixPass) *yaml.Node {
	return yamledit.EnsureMap(p.Pod.Node, "securityContext", podKeysAfterSC...)
}

// containerSC returns a container's securityContext mapping for editing.
func containerSC(c *object.Container) *yaml.Node {
	return yamledit.EnsureMap(c.Ref.Node, "securityContext")
}

// foundContainers are the containers the findings are about.
func foundContainers(p *check.FixPass) []*object.Container {
	var out []*object.Container
	for _, c := range p.Pod.Containers {
		if p.Found(c.Ref.Path) {
			out = append(out, c)
		}
	}
	return out
}

// outside returns a test of whether an ID field needs a fix: absent, not
// a number, below min, or above a positive max.
func outside(min, max int64) func(*yaml.Node) bool {
	return func(n *yaml.Node) bool {
		v, ok := object.ParseInt(n)
		return !ok || v < min || (max > 0 && v > max)
	}
}

// notTrue tests a boolean field that must be true.
func notTrue(n *yaml.Node) bool { v, ok := object.ParseBool(n); return !ok || !v }

// setBool sets key to a boolean in m and records the change.
func setBool(p *check.FixPass, m *yaml.Node, key string, v bool, path, risk string) {
	yamledit.SetScalar(m, key, "!!bool", strconv.FormatBool(v))
	p.Risky(path, risk)
}

// uidChange says what a new UID changes for a person to test.
func uidChange(old *yaml.Node, uid int64) string {
	u := strconv.FormatInt(uid, 10)
	if v, ok := object.ParseInt(old); ok {
		o := strconv.FormatInt(v, 10)
		return "UID " + o + " to " + u + ": files the image gives to UID " + o + " may no longer be writable"
	}
	return "runs as UID " + u + " instead of the image's own user: files the image gives to that user may no longer be writable"
}
