package object

import (
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func parse(t *testing.T, src string) *Object {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		t.Fatal(err)
	}
	o, ok := New(&n, "f.yaml", 0)
	if !ok {
		t.Fatalf("not an object: %s", src)
	}
	return o
}

const podSpec = `{containers: [{name: c, image: i}]}`

func TestPodSpecKinds(t *testing.T) {
	cases := []struct {
		src, path string // path "" means no pod spec
	}{
		{"apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: " + podSpec, "spec"},
		{"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec: {template: {spec: " + podSpec + "}}", "spec.template.spec"},
		// A stale apiVersion on a well-known kind is tolerated.
		{"apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: {name: a}\nspec: {template: {spec: " + podSpec + "}}", "spec.template.spec"},
		{"apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: a}\nspec: {template: {spec: " + podSpec + "}}", "spec.template.spec"},
		{"apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: a}\nspec: {template: {spec: " + podSpec + "}}", "spec.template.spec"},
		{"apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: a}\nspec: {template: {spec: " + podSpec + "}}", "spec.template.spec"},
		{"apiVersion: v1\nkind: ReplicationController\nmetadata: {name: a}\nspec: {template: {spec: " + podSpec + "}}", "spec.template.spec"},
		{"apiVersion: batch/v1\nkind: Job\nmetadata: {name: a}\nspec: {template: {spec: " + podSpec + "}}", "spec.template.spec"},
		{"apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: a}\nspec: {jobTemplate: {spec: {template: {spec: " + podSpec + "}}}}", "spec.jobTemplate.spec.template.spec"},
		{"apiVersion: v1\nkind: PodTemplate\nmetadata: {name: a}\ntemplate: {spec: " + podSpec + "}", "template.spec"},
		// CRDs that embed a pod template: Argo Rollouts, OpenKruise.
		{"apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: a}\nspec: {template: {spec: " + podSpec + "}}", "spec.template.spec"},
		// OpenShift's DeploymentConfig is a well-known kind.
		{"apiVersion: apps.openshift.io/v1\nkind: DeploymentConfig\nmetadata: {name: a}\nspec: {template: {spec: " + podSpec + "}}", "spec.template.spec"},
		{"apiVersion: apps.kruise.io/v1alpha1\nkind: AdvancedCronJob\nmetadata: {name: a}\nspec: {jobTemplate: {spec: {template: {spec: " + podSpec + "}}}}", "spec.jobTemplate.spec.template.spec"},
		// A CRD whose template is not a pod spec.
		{"apiVersion: x.io/v1\nkind: Thing\nmetadata: {name: a}\nspec: {template: {spec: {replicas: 1}}}", ""},
		{"apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: []}", ""},
		{"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec: {template: {spec: [not, a, map]}}", ""},
	}
	for _, c := range cases {
		o := parse(t, c.src)
		p := o.PodSpec()
		switch {
		case c.path == "" && p != nil:
			t.Errorf("%s: unexpected pod spec at %s", o.Kind, p.Ref.Path)
		case c.path != "" && p == nil:
			t.Errorf("%s: no pod spec, want %s", o.Kind, c.path)
		case p != nil && p.Ref.Path != c.path:
			t.Errorf("%s: pod spec at %s, want %s", o.Kind, p.Ref.Path, c.path)
		case p != nil && (len(p.Containers) != 1 || p.Containers[0].Ref.Path != c.path+".containers[0]"):
			t.Errorf("%s: containers %+v", o.Kind, p.Containers)
		}
	}
}

func TestEffectiveMerge(t *testing.T) {
	o := parse(t, `apiVersion: v1
kind: Pod
metadata: {name: a}
spec:
  securityContext:
    runAsUser: 1000
    runAsNonRoot: true
    seccompProfile: {type: RuntimeDefault}
  initContainers:
  - name: init
    image: i
  containers:
  - name: own
    image: i
    securityContext:
      runAsUser: 0
      runAsNonRoot: false
      seccompProfile: {type: Unconfined}
  ephemeralContainers:
  - name: debug
    image: i
    securityContext: {runAsGroup: 5}
`)
	p := o.PodSpec()
	if len(p.Containers) != 3 {
		t.Fatalf("containers: %d", len(p.Containers))
	}
	kinds := []ContainerType{p.Containers[0].Type, p.Containers[1].Type, p.Containers[2].Type}
	if kinds[0] != InitContainer || kinds[1] != RegularContainer || kinds[2] != EphemeralContainer {
		t.Fatalf("types %v", kinds)
	}
	init := p.Effective(p.Containers[0])
	if !init.RunAsUser.Set || init.RunAsUser.V != 1000 || init.RunAsUser.Ref.Path != "spec.securityContext.runAsUser" {
		t.Errorf("init inherits runAsUser: %+v", init.RunAsUser)
	}
	if init.Seccomp.Type.V != "RuntimeDefault" {
		t.Errorf("init inherits seccomp: %+v", init.Seccomp)
	}
	own := p.Effective(p.Containers[1])
	if own.RunAsUser.V != 0 || own.RunAsUser.Ref.Path != "spec.containers[0].securityContext.runAsUser" {
		t.Errorf("container wins runAsUser: %+v", own.RunAsUser)
	}
	if !own.RunAsNonRoot.Set || own.RunAsNonRoot.V {
		t.Errorf("container wins runAsNonRoot: %+v", own.RunAsNonRoot)
	}
	if own.Seccomp.Type.V != "Unconfined" {
		t.Errorf("container wins seccomp: %+v", own.Seccomp)
	}
	dbg := p.Effective(p.Containers[2])
	if dbg.RunAsGroup.V != 5 || dbg.RunAsUser.V != 1000 {
		t.Errorf("ephemeral merge: %+v %+v", dbg.RunAsGroup, dbg.RunAsUser)
	}
	if line, _ := o.Pos(own.RunAsUser.Ref); line != 16 {
		t.Errorf("runAsUser line %d, want 16", line)
	}
}

func TestScalars(t *testing.T) {
	bools := map[string]any{
		"true": true, "yes": true, "On": true, "Y": true, "false": false, "no": false, "OFF": false,
		`"true"`: nil, "1": nil, "maybe": nil, "[true]": nil,
	}
	for src, want := range bools {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(src), &n); err != nil {
			t.Fatal(err)
		}
		v, ok := ParseBool(&n)
		if want == nil && ok || want != nil && (!ok || v != want.(bool)) {
			t.Errorf("ParseBool(%s) = %v, %v; want %v", src, v, ok, want)
		}
	}
	ints := map[string]any{"1000": int64(1000), "0x3E8": int64(1000), "0o17": int64(15), "017": int64(15), "1_000": int64(1000), "-1": int64(-1), `"1000"`: nil, "1e3": nil, "x": nil}
	for src, want := range ints {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(src), &n); err != nil {
			t.Fatal(err)
		}
		v, ok := ParseInt(&n)
		if want == nil && ok || want != nil && (!ok || v != want.(int64)) {
			t.Errorf("ParseInt(%s) = %v, %v; want %v", src, v, ok, want)
		}
	}
}

func TestAliasesAndMergeKeys(t *testing.T) {
	o := parse(t, `apiVersion: v1
kind: Pod
metadata: {name: a}
x-hardened: &hardened
  runAsNonRoot: true
  runAsUser: 60096
spec:
  securityContext:
    <<: *hardened
    fsGroup: 60096
  containers:
  - &c {name: c, image: "i:1"}
`)
	p := o.PodSpec()
	sc := p.SecurityContext
	if !sc.RunAsNonRoot.V || sc.RunAsUser.V != 60096 || sc.FSGroup.V != 60096 {
		t.Errorf("merge key not honoured: %+v", sc)
	}
	if len(p.Containers) != 1 || p.Containers[0].Image.V != "i:1" {
		t.Errorf("anchored container: %+v", p.Containers)
	}
}

func TestFieldErrors(t *testing.T) {
	o := parse(t, `apiVersion: v1
kind: Pod
metadata: {name: a}
spec:
  hostNetwork: "true"
  securityContext: []
  containers:
  - image: i
  - name: b
    securityContext:
      privileged: 1
      runAsUser: abc
      capabilities: {add: [SYS_ADMIN, {x: 1}]}
  - just-a-string
`)
	var got []string
	for _, e := range o.PodSpec().Errors {
		line, _ := o.Pos(e.Ref)
		got = append(got, e.Message+"@"+strconv.Itoa(line))
	}
	want := []string{
		`spec.securityContext must be a mapping, not a list@6`,
		`spec.hostNetwork must be a boolean, not "true"@5`,
		`spec.containers[0] has no name@8`,
		`spec.containers[1] has no image@9`,
		`spec.containers[1].securityContext.runAsUser must be an integer, not "abc"@12`,
		`spec.containers[1].securityContext.privileged must be a boolean, not "1"@11`,
		`spec.containers[1].securityContext.capabilities.add[1] must be a string, not a mapping@13`,
		`spec.containers[2] must be a mapping, not "just-a-string"@14`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A well-known workload kind must list containers: without a pod spec it
// has none (MissingPodSpec), and a pod spec without them is a PodSpec
// error on which checks still run.
func TestNoContainers(t *testing.T) {
	cases := []struct {
		src  string
		want string // message@line
	}{
		{"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec:\n  template:\n    metadata: {labels: {a: b}}\n",
			"spec.template.spec has no containers@5"},
		{"apiVersion: apps.openshift.io/v1\nkind: DeploymentConfig\nmetadata: {name: a}\nspec:\n  replicas: 1\n  template:\n    metadata: {labels: {a: b}}\n",
			"spec.template.spec has no containers@6"},
		{"apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n", "spec has no containers@1"},
		{"apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: a}\nspec:\n  jobTemplate: null\n",
			"spec.jobTemplate.spec.template.spec has no containers@4"},
		{"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec:\n  template:\n    spec: [a]\n",
			`spec.template.spec must be a mapping, not a list@6`},
		{"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec:\n  template:\n    spec:\n      hostNetwork: true\n",
			"spec.template.spec has no containers@6"},
		{"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec:\n  template:\n    spec:\n      initContainers: [{name: a, image: b}]\n      containers: []\n",
			"spec.template.spec has no containers@8"},
		{"apiVersion: apps.openshift.io/v1\nkind: DeploymentConfig\nmetadata: {name: a}\nspec:\n  template:\n    spec:\n      containers: null\n",
			"spec.template.spec has no containers@7"},
		// Other kinds need no pod spec.
		{"apiVersion: x.io/v1\nkind: Rollout\nmetadata: {name: a}\nspec:\n  template:\n    metadata: {labels: {a: b}}\n", ""},
		{"apiVersion: v1\nkind: Service\nmetadata: {name: a}\n", ""},
	}
	for _, c := range cases {
		o := parse(t, c.src)
		var got []string
		if fe, ok := o.MissingPodSpec(); ok {
			line, _ := o.Pos(fe.Ref)
			got = append(got, fe.Message+"@"+strconv.Itoa(line))
		}
		if p := o.PodSpec(); p != nil {
			for _, e := range p.Errors {
				line, _ := o.Pos(e.Ref)
				got = append(got, e.Message+"@"+strconv.Itoa(line))
			}
		}
		if strings.Join(got, "\n") != c.want {
			t.Errorf("%s:\nerrors %q, want %q", c.src, got, c.want)
		}
	}
}
