package cluster_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// generate returns objects with security settings drawn at random from r:
// workloads of every kind the audit lists, Services, ServiceAccounts,
// NetworkPolicies, token Secrets and RBAC, across several namespaces, in an
// order the API server accepts. Every object is valid: the server must
// accept it.
func generate(r *rand.Rand) []map[string]any {
	g := &gen{r: r}
	var out []map[string]any
	nss := []string{"default"}
	for i := range 4 {
		ns := fmt.Sprintf("gen-%d", i)
		nss = append(nss, ns)
		var labels map[string]any
		// Enforcing anything but privileged would refuse the insecure
		// Pods generated here, and the children the test makes of
		// insecure workloads.
		if g.chance(2) {
			labels = map[string]any{"pod-security.kubernetes.io/enforce": "privileged"}
		} else if g.chance(2) {
			labels = map[string]any{"pod-security.kubernetes.io/warn": g.pick("baseline", "restricted")}
		}
		out = append(out, namespaceObject(ns, labels))
		// Without a controller manager nothing creates the "default"
		// account; a cluster has one in every namespace.
		out = append(out, serviceAccount(ns, "default", g.automount()))
	}
	for _, ns := range nss {
		accounts := []string{"default"}
		for i := range g.r.IntN(3) {
			name := fmt.Sprintf("sa-%d", i)
			accounts = append(accounts, name)
			out = append(out, serviceAccount(ns, name, g.automount()))
			if g.chance(3) {
				out = append(out, tokenSecret(ns, name+"-token", name))
			}
		}
		var apps []string
		for i := range 4 + g.r.IntN(6) {
			app := fmt.Sprintf("app-%d", i)
			apps = append(apps, app)
			out = append(out, g.workload(ns, app, accounts))
			if g.chance(2) {
				out = append(out, g.service(ns, app))
			}
		}
		for i := range g.r.IntN(4) {
			out = append(out, g.networkPolicy(ns, fmt.Sprintf("np-%d", i), apps))
		}
		var roles []string
		for i := range g.r.IntN(3) {
			name := fmt.Sprintf("role-%d", i)
			roles = append(roles, name)
			out = append(out, g.role("Role", ns, name))
		}
		for i := range g.r.IntN(3) {
			out = append(out, g.binding("RoleBinding", ns, fmt.Sprintf("rb-%d", i), roles, accounts))
		}
	}
	var clusterRoles []string
	for i := range 1 + g.r.IntN(3) {
		name := fmt.Sprintf("gen-cr-%d", i)
		clusterRoles = append(clusterRoles, name)
		out = append(out, g.role("ClusterRole", "", name))
	}
	for i := range 1 + g.r.IntN(3) {
		out = append(out, g.binding("ClusterRoleBinding", "", fmt.Sprintf("gen-crb-%d", i), clusterRoles, []string{"default"}))
	}
	return out
}

type gen struct{ r *rand.Rand }

// chance is true one time in n.
func (g *gen) chance(n int) bool { return g.r.IntN(n) == 0 }

func (g *gen) pick(s ...string) string { return s[g.r.IntN(len(s))] }

// automount is unset, true or false.
func (g *gen) automount() any {
	switch g.r.IntN(3) {
	case 0:
		return true
	case 1:
		return false
	}
	return nil
}

func namespaceObject(name string, labels map[string]any) map[string]any {
	meta := map[string]any{"name": name}
	if labels != nil {
		meta["labels"] = labels
	}
	return map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": meta}
}

func serviceAccount(ns, name string, automount any) map[string]any {
	o := map[string]any{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": map[string]any{"name": name, "namespace": ns}}
	if automount != nil {
		o["automountServiceAccountToken"] = automount
	}
	return o
}

func tokenSecret(ns, name, account string) map[string]any {
	return map[string]any{
		"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
		"metadata": map[string]any{"name": name, "namespace": ns, "annotations": map[string]any{"kubernetes.io/service-account.name": account}},
	}
}

var digest = "@sha256:" + strings.Repeat("3f", 32)

func (g *gen) image() string {
	return g.pick("nginx", "nginx:1.27", "nginx:latest", "registry.example/team/api"+digest,
		"registry.example/team/api:2.1"+digest, "docker.io/library/busybox:1.36", "quay.io/org/tool:v1")
}

func (g *gen) securityContext() map[string]any {
	sc := map[string]any{}
	if g.chance(4) {
		sc["privileged"] = g.chance(2)
	}
	if g.chance(2) {
		sc["allowPrivilegeEscalation"] = g.chance(3)
	}
	if g.chance(2) {
		sc["runAsNonRoot"] = !g.chance(4)
	}
	if g.chance(2) {
		sc["runAsUser"] = []int64{0, 1000, 10001, 65534}[g.r.IntN(4)]
	}
	if g.chance(3) {
		sc["runAsGroup"] = []int64{0, 1000, 10001}[g.r.IntN(3)]
	}
	if g.chance(2) {
		sc["readOnlyRootFilesystem"] = !g.chance(3)
	}
	if g.chance(2) {
		caps := map[string]any{}
		if g.chance(2) {
			caps["drop"] = []any{g.pick("ALL", "NET_RAW", "all")}
		}
		if g.chance(3) {
			caps["add"] = []any{g.pick("NET_ADMIN", "SYS_ADMIN", "NET_BIND_SERVICE", "CHOWN", "ALL")}
		}
		sc["capabilities"] = caps
	}
	if g.chance(3) {
		sc["seccompProfile"] = g.seccomp()
	}
	if g.chance(5) {
		sc["appArmorProfile"] = map[string]any{"type": g.pick("RuntimeDefault", "Unconfined")}
	}
	// The server refuses allowPrivilegeEscalation false with privileged or
	// CAP_SYS_ADMIN, which imply it.
	if caps, _ := sc["capabilities"].(map[string]any); sc["privileged"] == true || caps != nil && fmt.Sprint(caps["add"]) == "[SYS_ADMIN]" {
		if sc["allowPrivilegeEscalation"] == false {
			delete(sc, "allowPrivilegeEscalation")
		}
	}
	if len(sc) == 0 && g.chance(2) {
		return nil
	}
	return sc
}

func (g *gen) seccomp() map[string]any {
	switch g.r.IntN(3) {
	case 0:
		return map[string]any{"type": "RuntimeDefault"}
	case 1:
		return map[string]any{"type": "Unconfined"}
	}
	return map[string]any{"type": "Localhost", "localhostProfile": "profiles/audit.json"}
}

func (g *gen) resources() map[string]any {
	res := map[string]any{}
	if g.chance(2) {
		res["requests"] = map[string]any{"cpu": "100m", "memory": "64Mi"}
		if g.chance(3) {
			delete(res["requests"].(map[string]any), "cpu")
		}
	}
	if g.chance(2) {
		res["limits"] = map[string]any{"cpu": "500m", "memory": "256Mi"}
		if g.chance(3) {
			delete(res["limits"].(map[string]any), "cpu")
		}
	}
	if len(res) == 0 {
		return nil
	}
	return res
}

func (g *gen) container(name string) map[string]any {
	c := map[string]any{"name": name, "image": g.image()}
	if sc := g.securityContext(); sc != nil {
		c["securityContext"] = sc
	}
	if res := g.resources(); res != nil {
		c["resources"] = res
	}
	if g.chance(3) {
		c["ports"] = []any{map[string]any{"containerPort": int64(8080)}}
	}
	return c
}

// podSpec returns a pod template's spec and annotations.
func (g *gen) podSpec(accounts []string, restart string) (spec, annotations map[string]any) {
	spec = map[string]any{}
	annotations = map[string]any{}
	var containers []any
	for i := range 1 + g.r.IntN(2) {
		containers = append(containers, g.container(fmt.Sprintf("c%d", i)))
	}
	spec["containers"] = containers
	if g.chance(3) {
		spec["initContainers"] = []any{g.container("init")}
	}
	if restart != "" {
		spec["restartPolicy"] = restart
	}
	for _, f := range []string{"hostNetwork", "hostPID", "hostIPC"} {
		if g.chance(8) {
			spec[f] = true
		}
	}
	if g.chance(2) {
		psc := map[string]any{}
		if g.chance(2) {
			psc["runAsNonRoot"] = !g.chance(4)
		}
		if g.chance(2) {
			psc["runAsUser"] = []int64{0, 1000, 10001}[g.r.IntN(3)]
		}
		if g.chance(3) {
			psc["fsGroup"] = []int64{0, 2000, 10001}[g.r.IntN(3)]
		}
		if g.chance(3) {
			psc["seccompProfile"] = g.seccomp()
		}
		if g.chance(4) {
			psc["supplementalGroups"] = []any{int64(0), int64(3000)}
		}
		spec["securityContext"] = psc
	}
	if a := g.automount(); a != nil {
		spec["automountServiceAccountToken"] = a
	}
	if g.chance(2) {
		spec["serviceAccountName"] = accounts[g.r.IntN(len(accounts))]
	}
	if g.chance(4) {
		vol := map[string]any{"name": "host", "hostPath": map[string]any{"path": g.pick("/var/run/docker.sock", "/etc", "/var/log", "/")}}
		switch g.r.IntN(3) {
		case 0:
			vol = map[string]any{"name": "host", "emptyDir": map[string]any{}}
		case 1: // no source: the server defaults it to emptyDir
			vol = map[string]any{"name": "host"}
		}
		spec["volumes"] = []any{vol}
		containers[0].(map[string]any)["volumeMounts"] = []any{map[string]any{"name": "host", "mountPath": "/host"}}
	}
	if g.chance(6) {
		annotations["container.apparmor.security.beta.kubernetes.io/c0"] = g.pick("runtime/default", "unconfined")
	}
	if g.chance(6) {
		annotations["ignore.kubeharden.io/"+g.pick("image-digest", "run-as-non-root", "resources-limits")] = "accepted by the platform team"
	}
	if g.chance(12) {
		annotations["ignore.kubeharden.io/privileged-container"] = ""
	}
	return spec, annotations
}

func (g *gen) workload(ns, app string, accounts []string) map[string]any {
	labels := map[string]any{"app": app}
	if g.chance(2) {
		labels["tier"] = g.pick("web", "db")
	}
	kind := g.pick("Deployment", "Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job", "Pod", "ReplicationController")
	restart := ""
	switch kind {
	case "CronJob", "Job":
		restart = g.pick("OnFailure", "Never")
	case "Pod":
		restart = g.pick("", "Always", "Never")
	}
	spec, ann := g.podSpec(accounts, restart)
	meta := map[string]any{"name": app, "namespace": ns, "labels": labels}
	if kind == "Pod" {
		if len(ann) > 0 {
			meta["annotations"] = ann
		}
		return map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}
	}
	tmeta := map[string]any{"labels": labels}
	if len(ann) > 0 {
		// Suppressions are read from the object, annotations on the
		// template from the pod: put them on either.
		if g.chance(2) {
			meta["annotations"] = ann
		} else {
			tmeta["annotations"] = ann
		}
	}
	tmpl := map[string]any{"metadata": tmeta, "spec": spec}
	sel := map[string]any{"matchLabels": map[string]any{"app": app}}
	o := map[string]any{"kind": kind, "metadata": meta}
	switch kind {
	case "Deployment", "DaemonSet":
		o["apiVersion"] = "apps/v1"
		o["spec"] = map[string]any{"selector": sel, "template": tmpl}
	case "StatefulSet":
		o["apiVersion"] = "apps/v1"
		o["spec"] = map[string]any{"selector": sel, "serviceName": app, "template": tmpl}
	case "ReplicationController":
		o["apiVersion"] = "v1"
		o["spec"] = map[string]any{"selector": map[string]any{"app": app}, "template": tmpl}
	case "Job":
		o["apiVersion"] = "batch/v1"
		o["spec"] = map[string]any{"template": map[string]any{"spec": spec, "metadata": map[string]any{"annotations": tmeta["annotations"]}}}
		if tmeta["annotations"] == nil {
			o["spec"] = map[string]any{"template": map[string]any{"spec": spec}}
		}
	case "CronJob":
		o["apiVersion"] = "batch/v1"
		jt := map[string]any{"spec": spec}
		if tmeta["annotations"] != nil {
			jt["metadata"] = map[string]any{"annotations": tmeta["annotations"]}
		}
		o["spec"] = map[string]any{"schedule": "*/5 * * * *", "jobTemplate": map[string]any{"spec": map[string]any{"template": jt}}}
	}
	return o
}

func (g *gen) service(ns, app string) map[string]any {
	return map[string]any{
		"apiVersion": "v1", "kind": "Service",
		"metadata": map[string]any{"name": app, "namespace": ns},
		"spec": map[string]any{
			"type":     g.pick("ClusterIP", "NodePort", "LoadBalancer"),
			"selector": map[string]any{"app": app},
			"ports":    []any{map[string]any{"port": int64(80), "targetPort": int64(8080)}},
		},
	}
}

func (g *gen) networkPolicy(ns, name string, apps []string) map[string]any {
	spec := map[string]any{"podSelector": map[string]any{}}
	if g.chance(2) {
		spec["podSelector"] = map[string]any{"matchLabels": map[string]any{"app": apps[g.r.IntN(len(apps))]}}
	}
	switch g.r.IntN(4) {
	case 0: // policyTypes unset: the server defaults them
	case 1:
		spec["policyTypes"] = []any{"Ingress"}
	case 2:
		spec["policyTypes"] = []any{"Egress"}
	default:
		spec["policyTypes"] = []any{"Ingress", "Egress"}
	}
	if g.chance(2) {
		from := g.pick("namespace", "pod", "all")
		var peer map[string]any
		switch from {
		case "namespace":
			peer = map[string]any{"namespaceSelector": map[string]any{}}
		case "pod":
			peer = map[string]any{"podSelector": map[string]any{"matchLabels": map[string]any{"tier": "web"}}}
		}
		rule := map[string]any{}
		if peer != nil {
			rule["from"] = []any{peer}
		}
		spec["ingress"] = []any{rule}
	}
	if g.chance(3) {
		spec["egress"] = []any{map[string]any{"ports": []any{map[string]any{"port": int64(53), "protocol": "UDP"}}}}
	}
	return map[string]any{
		"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
		"metadata": map[string]any{"name": name, "namespace": ns},
		"spec":     spec,
	}
}

func (g *gen) role(kind, ns, name string) map[string]any {
	var rules []any
	for range 1 + g.r.IntN(3) {
		rule := map[string]any{
			"apiGroups": []any{g.pick("", "apps", "*", "rbac.authorization.k8s.io")},
			"resources": []any{g.pick("pods", "secrets", "*", "pods/exec", "deployments", "roles", "clusterrolebindings", "serviceaccounts/token")},
			"verbs":     []any{g.pick("get", "list", "*", "create", "escalate", "bind", "impersonate")},
		}
		if g.chance(4) {
			rule["verbs"] = append(rule["verbs"].([]any), "watch")
		}
		rules = append(rules, rule)
	}
	o := map[string]any{
		"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind,
		"metadata": map[string]any{"name": name},
		"rules":    rules,
	}
	if ns != "" {
		o["metadata"].(map[string]any)["namespace"] = ns
	}
	return o
}

func (g *gen) binding(kind, ns, name string, roles, accounts []string) map[string]any {
	refKind := "ClusterRole"
	var refName string
	switch {
	case kind == "RoleBinding" && len(roles) > 0 && g.chance(2):
		refKind, refName = "Role", roles[g.r.IntN(len(roles))]
	case kind == "RoleBinding" && g.chance(4):
		refKind, refName = "Role", "missing-role"
	default:
		refName = g.pick("cluster-admin", "edit", "view", "admin", "gen-cr-0", "gen-missing")
	}
	var subjects []any
	for range 1 + g.r.IntN(2) {
		switch g.r.IntN(4) {
		case 0:
			subjects = append(subjects, map[string]any{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": g.pick("system:anonymous", "system:unauthenticated", "system:authenticated", "devs")})
		case 1:
			subjects = append(subjects, map[string]any{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": g.pick("alice", "system:anonymous")})
		default:
			sns := ns
			if sns == "" {
				sns = "gen-0"
			}
			subjects = append(subjects, map[string]any{"kind": "ServiceAccount", "name": accounts[g.r.IntN(len(accounts))], "namespace": sns})
		}
	}
	meta := map[string]any{"name": name}
	if ns != "" {
		meta["namespace"] = ns
	}
	return map[string]any{
		"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind,
		"metadata": meta,
		"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": refKind, "name": refName},
		"subjects": subjects,
	}
}
