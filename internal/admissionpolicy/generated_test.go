package admissionpolicy_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	sigsyaml "sigs.k8s.io/yaml"
)

// generated returns n objects with random pod specs over the fields the
// covered checks read, from a fixed seed: the fixtures alone are thin on
// combinations (pod and container values, init containers, Windows pods,
// suppressions, odd spellings of capabilities).
func generated(t *testing.T, n int) []fixture {
	t.Helper()
	r := rand.New(rand.NewPCG(12, 2026))
	var out []fixture
	for i := range n {
		obj := randomObject(r, i)
		y, err := sigsyaml.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		fs := parseFixtures(t, fmt.Sprintf("generated#%d", i), y)
		if len(fs) != 1 {
			t.Fatalf("generated object %d parses into %d objects:\n%s", i, len(fs), y)
		}
		out = append(out, fs...)
	}
	return out
}

func pick[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }

// maybe sets m[k] to v unless v is nil.
func maybe(m map[string]any, k string, v any) {
	if v != nil {
		m[k] = v
	}
}

func profile(r *rand.Rand) any {
	switch r.IntN(5) {
	case 0:
		return map[string]any{"type": "RuntimeDefault"}
	case 1:
		return map[string]any{"type": "Unconfined"}
	case 2:
		return map[string]any{"type": "Localhost", "localhostProfile": "p.json"}
	}
	return nil
}

func id(r *rand.Rand) any { return pick[any](r, nil, nil, 0, 101, 9999, 10000, 65534, 70000) }

func boolean(r *rand.Rand) any { return pick[any](r, nil, nil, true, false) }

func capabilities(r *rand.Rand) any {
	if r.IntN(3) == 0 {
		return nil
	}
	c := map[string]any{}
	var add, drop []any
	for _, a := range []string{"NET_BIND_SERVICE", "SYS_ADMIN", "cap_net_raw", "CAP_SYS_ADMIN", "ALL", " net_bind_service", "CAP_NET_BIND_SERVICE", "SYS_PTRACE"} {
		if r.IntN(6) == 0 {
			add = append(add, a)
		}
	}
	for _, d := range []string{"ALL", "all", "NET_RAW", " All "} {
		if r.IntN(4) == 0 {
			drop = append(drop, d)
		}
	}
	if add != nil {
		c["add"] = add
	}
	if drop != nil || r.IntN(2) == 0 {
		c["drop"] = drop
	}
	return c
}

func resourcesOf(r *rand.Rand) any {
	res := map[string]any{}
	for _, section := range []string{"requests", "limits"} {
		q := map[string]any{}
		if r.IntN(2) == 0 {
			q["cpu"] = "100m"
		}
		if r.IntN(2) == 0 {
			q["memory"] = "128Mi"
		}
		if len(q) > 0 {
			res[section] = q
		}
	}
	if len(res) == 0 {
		return nil
	}
	// A request above its limit is invalid; keep requests at the limits.
	return res
}

var (
	hex64  = strings.Repeat("ab12", 16)
	hex96  = strings.Repeat("0f", 48)
	hex128 = strings.Repeat("9e", 64)
)

// images are references for image-tag and image-digest: tags, latest,
// none, digests (sha256, the other algorithms go-digest knows, malformed
// ones), registries with ports, and references the kubelet refuses.
var images = []string{
	"busybox:1.36", "busybox:1.36", "busybox", "busybox:latest", "nginx:LATEST", "docker.io/library/nginx",
	"registry.example.com:5000/team/app", "registry.example.com:5000/team/app:v1.2", "localhost:5000/app:latest",
	"localhost:5000", "host:5000/img", "[::1]:5000/app:1", "[::1]:5000/app", "my_org/app:1", "a.b-c__d/e--f:1",
	"busybox:1.36@sha256:" + hex64, "busybox@sha256:" + hex64, "ghcr.io/org/app:latest@sha256:" + hex64,
	"busybox@sha384:" + hex96, "busybox:1@sha512:" + hex128,
	"busybox@sha256:" + strings.ToUpper(hex64), "busybox@sha256:" + hex64[:40], "busybox@md5:" + hex64, "busybox@SHA256:" + hex64,
	"Busybox:1.36", "example.com/UPPER/app", "REGISTRY.example.com/app:1", "a:b:c", "app:-bad", "app:", "app@", "/app", "app/", "app//x",
	"app:" + strings.Repeat("v", 128), "app:" + strings.Repeat("v", 129),
	"registry.example.com/" + strings.Repeat("p", 255) + ":1", "registry.example.com/" + strings.Repeat("p", 256) + ":1",
	"team/" + strings.Repeat("p", 250), "my_org/" + strings.Repeat("p", 250) + ":latest",
}

// imagePods returns a pod per reference of images, its only container
// running it (and an init container with it, beside a pinned container,
// half the time): whole objects over random containers would let another
// container's finding hide a disagreement on one reference.
func imagePods(t *testing.T) []fixture {
	t.Helper()
	var out []fixture
	pinned := "busybox:1.36@sha256:" + hex64
	for i, img := range images {
		spec := map[string]any{"containers": []any{map[string]any{"name": "app", "image": img}}}
		if i%2 == 1 {
			spec["initContainers"] = []any{map[string]any{"name": "init", "image": img}}
			spec["containers"] = []any{map[string]any{"name": "app", "image": pinned}}
		}
		obj := map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": fmt.Sprintf("image%d", i)}, "spec": spec}
		y, err := sigsyaml.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, parseFixtures(t, fmt.Sprintf("image#%d %s", i, img), y)...)
	}
	return out
}

func container(r *rand.Rand, name string, windows bool) map[string]any {
	c := map[string]any{"name": name, "image": pick(r, images...)}
	maybe(c, "resources", resourcesOf(r))
	if r.IntN(2) == 0 {
		c["volumeMounts"] = []any{map[string]any{"name": "data", "mountPath": "/data", "readOnly": r.IntN(2) == 0}}
	}
	if r.IntN(5) == 0 {
		return c
	}
	sc := map[string]any{}
	maybe(sc, "runAsNonRoot", boolean(r))
	if !windows {
		maybe(sc, "privileged", pick[any](r, nil, nil, nil, false, true))
		maybe(sc, "allowPrivilegeEscalation", boolean(r))
		maybe(sc, "readOnlyRootFilesystem", boolean(r))
		maybe(sc, "runAsUser", id(r))
		maybe(sc, "runAsGroup", id(r))
		maybe(sc, "capabilities", capabilities(r))
		maybe(sc, "seccompProfile", profile(r))
		maybe(sc, "appArmorProfile", profile(r))
	}
	c["securityContext"] = sc
	return c
}

var checkIDs = []string{"privileged-container", "allow-privilege-escalation", "run-as-non-root", "seccomp-profile", "capabilities-drop-all", "resources-limits", "image-tag", "image-digest"}

func randomObject(r *rand.Rand, i int) map[string]any {
	windows := r.IntN(10) == 0
	spec := map[string]any{}
	if windows {
		spec["os"] = map[string]any{"name": "windows"}
	} else if r.IntN(8) == 0 {
		spec["os"] = map[string]any{"name": "linux"}
	}
	if !windows {
		for _, h := range []string{"hostNetwork", "hostPID", "hostIPC"} {
			if r.IntN(8) == 0 {
				spec[h] = r.IntN(2) == 0
			}
		}
	}
	psc := map[string]any{}
	maybe(psc, "runAsNonRoot", boolean(r))
	if !windows {
		maybe(psc, "runAsUser", id(r))
		maybe(psc, "runAsGroup", id(r))
		maybe(psc, "fsGroup", id(r))
		maybe(psc, "seccompProfile", profile(r))
		maybe(psc, "appArmorProfile", profile(r))
	}
	if len(psc) > 0 || r.IntN(2) == 0 {
		spec["securityContext"] = psc
	}
	var containers, inits []any
	for j := range 1 + r.IntN(2) {
		containers = append(containers, container(r, fmt.Sprintf("app%d", j), windows))
	}
	if r.IntN(3) == 0 {
		inits = append(inits, container(r, "init", windows))
	}
	spec["containers"] = containers
	if inits != nil {
		spec["initContainers"] = inits
	}
	vol := map[string]any{"name": "data", "emptyDir": map[string]any{}}
	if !windows && r.IntN(5) == 0 {
		vol = map[string]any{"name": "data", "hostPath": map[string]any{"path": pick(r, "/var/log", "/etc", "/data")}}
	}
	spec["volumes"] = []any{vol}

	podMeta := map[string]any{"labels": map[string]any{"app": fmt.Sprintf("g%d", i)}}
	if !windows && r.IntN(4) == 0 {
		// Legacy AppArmor annotations, alone or beside the fields.
		podMeta["annotations"] = map[string]any{
			"container.apparmor.security.beta.kubernetes.io/app0": pick(r, "runtime/default", "unconfined", "localhost/p"),
		}
	}
	meta := map[string]any{"name": fmt.Sprintf("g%d", i)}
	if r.IntN(6) == 0 {
		meta["annotations"] = map[string]any{"ignore.kubeharden.io/" + pick(r, checkIDs...): pick(r, "accepted risk", " ", "")}
	}
	template := map[string]any{"metadata": podMeta, "spec": spec}
	selector := map[string]any{"matchLabels": podMeta["labels"]}
	switch kind := pick(r, "Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob", "PodTemplate"); kind {
	case "Pod":
		for k, v := range podMeta {
			if k == "annotations" {
				anns, _ := meta["annotations"].(map[string]any)
				if anns == nil {
					anns = map[string]any{}
				}
				for ak, av := range v.(map[string]any) {
					anns[ak] = av
				}
				meta["annotations"] = anns
				continue
			}
			meta[k] = v
		}
		return map[string]any{"apiVersion": "v1", "kind": kind, "metadata": meta, "spec": spec}
	case "PodTemplate":
		return map[string]any{"apiVersion": "v1", "kind": kind, "metadata": meta, "template": template}
	case "ReplicationController":
		return map[string]any{"apiVersion": "v1", "kind": kind, "metadata": meta, "spec": map[string]any{"selector": podMeta["labels"], "template": template}}
	case "Job":
		spec["restartPolicy"] = "Never"
		return map[string]any{"apiVersion": "batch/v1", "kind": kind, "metadata": meta, "spec": map[string]any{"template": template}}
	case "CronJob":
		spec["restartPolicy"] = "OnFailure"
		return map[string]any{"apiVersion": "batch/v1", "kind": kind, "metadata": meta, "spec": map[string]any{
			"schedule": "0 * * * *", "jobTemplate": map[string]any{"spec": map[string]any{"template": template}},
		}}
	case "StatefulSet":
		return map[string]any{"apiVersion": "apps/v1", "kind": kind, "metadata": meta, "spec": map[string]any{"selector": selector, "serviceName": "s", "template": template}}
	default:
		return map[string]any{"apiVersion": "apps/v1", "kind": kind, "metadata": meta, "spec": map[string]any{"selector": selector, "template": template}}
	}
}
