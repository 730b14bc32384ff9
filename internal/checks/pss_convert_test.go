package checks

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/randfill"
	sigsyaml "sigs.k8s.io/yaml"
)

// pssTestNode parses a YAML document into its root mapping.
func pssTestNode(t *testing.T, src string) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatalf("parsing %q: %v", src, err)
	}
	return doc.Content[0]
}

// pssKubectl decodes a pod spec the way it reaches the API server through
// kubectl: sigs.k8s.io/yaml (YAML 1.1) to JSON, then the API server's
// case-sensitive decoder. It fails on what kubectl cannot convert.
func pssKubectl(t *testing.T, src string) (corev1.PodSpec, error) {
	t.Helper()
	var spec corev1.PodSpec
	data, err := sigsyaml.YAMLToJSON([]byte(src))
	if err != nil {
		return spec, err
	}
	err = sigsjson.UnmarshalCaseSensitivePreserveInts(data, &spec)
	pssPrune(&spec)
	return spec, err
}

// pssPrune clears what the conversion leaves out (pssSkip), for
// comparisons.
func pssPrune(spec *corev1.PodSpec) {
	keep := func(c *corev1.Container) {
		*c = corev1.Container{Name: c.Name, SecurityContext: c.SecurityContext, Ports: c.Ports,
			LivenessProbe: c.LivenessProbe, ReadinessProbe: c.ReadinessProbe, StartupProbe: c.StartupProbe, Lifecycle: c.Lifecycle}
	}
	*spec = corev1.PodSpec{HostNetwork: spec.HostNetwork, HostPID: spec.HostPID, HostIPC: spec.HostIPC, HostUsers: spec.HostUsers,
		SecurityContext: spec.SecurityContext, Volumes: spec.Volumes, OS: spec.OS,
		InitContainers: spec.InitContainers, Containers: spec.Containers, EphemeralContainers: spec.EphemeralContainers}
	for i := range spec.InitContainers {
		keep(&spec.InitContainers[i])
	}
	for i := range spec.Containers {
		keep(&spec.Containers[i])
	}
	for i := range spec.EphemeralContainers {
		keep((*corev1.Container)(&spec.EphemeralContainers[i].EphemeralContainerCommon))
		spec.EphemeralContainers[i].TargetContainerName = ""
	}
}

// TestPSSConvertLikeKubectl compares the conversion with what kubectl
// sends on inputs where YAML 1.1 and YAML 1.2 disagree.
func TestPSSConvertLikeKubectl(t *testing.T) {
	for i, src := range []string{
		// YAML 1.1 booleans, in every spelling.
		`{hostNetwork: yes, hostPID: On, hostIPC: Y, containers: [{name: a, securityContext: {privileged: TRUE, allowPrivilegeEscalation: no, readOnlyRootFilesystem: Off, runAsNonRoot: n}}]}`,
		`{hostNetwork: "yes", hostPID: 'true', hostIPC: !!str on, containers: [{name: a}]}`,
		// Integers: octal, 0o octal, hex, binary, underscores, signs.
		`{securityContext: {runAsUser: 0755, runAsGroup: 0o755, fsGroup: 0x2711}, containers: [{name: a, ports: [{containerPort: 1_000, hostPort: +80}, {containerPort: 0b1010}, {containerPort: -1}]}]}`,
		// 08 is no octal number: yaml.v2 falls back to the float 8.
		`{securityContext: {runAsUser: 08, runAsGroup: 1e3, fsGroup: 10.0}, containers: [{name: a}]}`,
		// Quoted numbers are strings: the API server rejects them.
		`{securityContext: {runAsUser: "1000", runAsGroup: '0'}, containers: [{name: a, ports: [{containerPort: "80"}]}]}`,
		// A number where a string belongs, and a float where an int does.
		`{serviceAccountName: 1234, securityContext: {runAsUser: 1.5}, containers: [{name: 12, image: 1.0}]}`,
		// Nulls in all spellings, and empty values.
		`{securityContext: ~, hostNetwork: null, hostPID: Null, hostIPC: NULL, os: , containers: [{name: a, securityContext: {privileged: ~, capabilities: {add: [NET_RAW, ~], drop: null}}}]}`,
		// Timestamps and version-like strings stay strings.
		`{hostname: 2001-12-14, subdomain: 1.2.3, containers: [{name: 2024-01-01t00:00:00Z, image: "registry/app:1.0"}]}`,
		// Anchors, aliases and merge keys, merged mapping first.
		"containers:\n- &base\n  name: a\n  image: app\n  securityContext: &sc\n    privileged: true\n    capabilities: {add: [SYS_ADMIN]}\n- <<: *base\n  name: b\n- <<: *base\n  name: c\n  securityContext:\n    <<: *sc\n    privileged: false\n",
		"x-shared: &shared {runAsNonRoot: true, runAsUser: 10001}\nsecurityContext:\n  <<: [*shared, {runAsUser: 0, fsGroup: 2000}]\n  seccompProfile: {type: RuntimeDefault}\ncontainers: [{name: a}]\n",
		// Case matters to the API server: HostNetwork is an unknown field.
		`{HostNetwork: true, hostnetwork: true, containers: [{name: a, SecurityContext: {privileged: true}}]}`,
		// Sysctls, SELinux and Windows options; probes with named and numbered ports.
		`{securityContext: {sysctls: [{name: kernel.msgmax, value: 65536}], seLinuxOptions: {type: spc_t, level: s0}, windowsOptions: {hostProcess: yes}}, containers: [{name: a, livenessProbe: {httpGet: {host: h, port: http}}, readinessProbe: {tcpSocket: {port: 8080}}}]}`,
		// Keys that YAML 1.1 reads as booleans or numbers name fields no more.
		`{yes: true, 1: 2, containers: [{name: a}], os: {on: x, name: windows}}`,
		// Fields the conversion leaves out.
		`{affinity: {nodeAffinity: {}}, tolerations: [{key: k}], containers: [{name: a, env: [{name: X, value: "1"}], args: [--x], resources: {limits: {cpu: 1}}}]}`,
	} {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			want, err := pssKubectl(t, src)
			var ute *json.UnmarshalTypeError
			if err != nil && !errors.As(err, &ute) {
				t.Fatalf("kubectl's conversion fails: %v", err)
			}
			got := pssConvert(nil, pssTestNode(t, src))
			if !got.ok {
				t.Fatal("not converted")
			}
			if !reflect.DeepEqual(got.spec, want) {
				g, _ := json.Marshal(got.spec)
				w, _ := json.Marshal(want)
				t.Errorf("%s\n got %s\nwant %s", src, g, w)
			}
		})
	}
}

// TestPSSConvertMetadata checks the pod metadata: its annotations are
// kept, the rest is left out.
func TestPSSConvertMetadata(t *testing.T) {
	meta := pssTestNode(t, `
name: web
labels: {app: web}
annotations:
  container.apparmor.security.beta.kubernetes.io/web: unconfined
  replicas: 3
  yes: on
creationTimestamp: 2024-01-01T00:00:00Z
managedFields: [{manager: kubectl}]
`)
	got := pssConvert(meta, pssTestNode(t, `{containers: [{name: web}]}`))
	want := metav1.ObjectMeta{
		// kubectl sends the key true, and the number 3 and the boolean
		// true as values: the API server rejects those.
		Annotations: map[string]string{"container.apparmor.security.beta.kubernetes.io/web": "unconfined", "replicas": "", "true": ""},
	}
	if !got.ok || !reflect.DeepEqual(got.meta, want) {
		t.Errorf("got %+v\nwant %+v", got.meta, want)
	}
	if got := pssConvert(pssTestNode(t, "{name: web, labels: {app: web}}"), pssTestNode(t, `{containers: [{name: web}]}`)); !reflect.DeepEqual(got.meta, metav1.ObjectMeta{}) {
		t.Errorf("got %+v, want nothing", got.meta)
	}
}

// TestPSSConvertMergeOrder documents the one place where the conversion
// follows the YAML spec (and object.Get, so that every check agrees)
// rather than kubectl: a mapping's own key wins over a merged one even when
// the merge key comes after it. kubectl's yaml.v2 lets the later merge win.
func TestPSSConvertMergeOrder(t *testing.T) {
	src := "x: &priv {privileged: true}\ncontainers:\n- name: a\n  securityContext:\n    privileged: false\n    <<: *priv\n"
	got := pssConvert(nil, pssTestNode(t, src))
	sc := got.spec.Containers[0].SecurityContext
	if sc == nil || sc.Privileged == nil || *sc.Privileged {
		t.Errorf("privileged = %v, want false", sc)
	}
}

// TestPSSConvertWrongTypes checks that a pod whose fields the API server
// would reject is still evaluated on what converts, whatever the error.
func TestPSSConvertWrongTypes(t *testing.T) {
	for _, src := range []string{
		// Type errors leave their field unset.
		`{hostNetwork: "true", hostPID: true, containers: [{name: a, securityContext: {runAsUser: abc, privileged: true}}]}`,
		// An int-or-string port that is a mapping makes its decoder fail,
		// which stops a plain decode: the rest must still convert.
		`{hostPID: true, containers: [{name: a, readinessProbe: {httpGet: {port: {x: 1}}}, securityContext: {privileged: true}}], volumes: [{name: v, emptyDir: {sizeLimit: [1]}}, {name: h, hostPath: {path: /}}]}`,
		`{containers: [{name: a, securityContext: {privileged: true}, lifecycle: {preStop: {tcpSocket: {port: true}}}}], hostPID: yes}`,
		// A list where a mapping belongs and the other way round.
		`{hostPID: true, securityContext: [], containers: {name: a}, initContainers: [{name: a, securityContext: {privileged: true}}, "x", [1]]}`,
	} {
		got := pssConvert(nil, pssTestNode(t, src))
		if !got.ok || !got.spec.HostPID {
			t.Errorf("%s: hostPID lost: %+v", src, got.spec)
		}
		if !strings.Contains(src, "privileged") {
			continue
		}
		found := false
		for _, c := range append(got.spec.InitContainers, got.spec.Containers...) {
			found = found || c.SecurityContext != nil && c.SecurityContext.Privileged != nil && *c.SecurityContext.Privileged
		}
		if !found {
			t.Errorf("%s: privileged lost: %+v", src, got.spec)
		}
		if strings.Contains(src, "hostPath") && (len(got.spec.Volumes) != 2 || got.spec.Volumes[1].HostPath == nil) {
			t.Errorf("%s: hostPath volume lost: %+v", src, got.spec.Volumes)
		}
	}
}

// TestPSSConvertAliasBomb checks that aliases that expand without bound
// stop the conversion instead of the scan.
func TestPSSConvertAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 12; i++ {
		fmt.Fprintf(&b, "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	b.WriteString("containers: [{name: a, args: *a11, command: *a11, ports: *a11}]\n")
	start := time.Now()
	got := pssConvert(nil, pssTestNode(t, b.String()))
	if got.ok {
		t.Error("a 10^12-node expansion converted")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v", d)
	}
}

// TestPSSPruneChangesNothing fills pod specs at random, with the values
// Pod Security looks for among random ones, and checks that leaving out
// the fields the conversion prunes never changes a verdict at any level
// or version. A control added in a new version of the policy package that
// reads a pruned field fails here.
func TestPSSPruneChangesNothing(t *testing.T) {
	words := []string{
		"ALL", "NET_BIND_SERVICE", "SYS_ADMIN", "CHOWN", "NET_RAW", "RuntimeDefault", "Localhost", "Unconfined",
		"Default", "Unmasked", "windows", "linux", "container_t", "spc_t", "kernel.shm_rmid_forced", "kernel.msgmax",
		"runtime/default", "unconfined", "localhost/p", "a", "b", "c", "", "0", "root",
	}
	annotations := []string{
		"container.apparmor.security.beta.kubernetes.io/a", "container.seccomp.security.alpha.kubernetes.io/a",
		"seccomp.security.alpha.kubernetes.io/pod", "other",
	}
	f := randfill.NewWithSeed(1).NilChance(0.4).NumElements(0, 2).MaxDepth(12).Funcs(
		func(s *string, c randfill.Continue) {
			if c.Intn(3) == 0 {
				*s = c.String(8)
				*s = strings.Map(func(r rune) rune {
					if r < 0x20 || r > 0x7e {
						return 'x'
					}
					return r
				}, *s)
				return
			}
			*s = words[c.Intn(len(words))]
		},
		func(b *bool, c randfill.Continue) { *b = c.Intn(3) == 0 },
		func(i *int64, c randfill.Continue) { *i = int64(c.Intn(3)) * 1000 },
		func(i *int32, c randfill.Continue) { *i = int32(c.Intn(3)) * 80 },
	)
	versions := []api.Version{api.LatestVersion()}
	for minor := 0; minor <= 40; minor++ {
		versions = append(versions, api.MajorMinorVersion(1, minor))
	}
	for i := range 300 {
		var spec corev1.PodSpec
		f.Fill(&spec)
		var meta metav1.ObjectMeta
		meta.Annotations = map[string]string{}
		for _, k := range annotations {
			var v string
			f.Fill(&v)
			meta.Annotations[k] = v
		}
		specJSON, err := json.Marshal(&spec)
		if err != nil {
			t.Fatal(err)
		}
		metaJSON, _ := json.Marshal(&meta)
		var full corev1.PodSpec
		if err := sigsjson.UnmarshalCaseSensitivePreserveInts(specJSON, &full); err != nil {
			t.Fatal(err)
		}
		pssDefaults(&full)
		// JSON is YAML: the conversion reads the same document.
		got := pssConvert(pssTestNode(t, string(metaJSON)), pssTestNode(t, string(specJSON)))
		if !got.ok {
			t.Fatalf("spec %d not converted", i)
		}
		for _, level := range []api.Level{api.LevelBaseline, api.LevelRestricted} {
			for _, v := range versions {
				lv := api.LevelVersion{Level: level, Version: v}
				a := policy.AggregateCheckResults(pssEvaluator().EvaluatePod(lv, &meta, &full))
				b := policy.AggregateCheckResults(pssEvaluator().EvaluatePod(lv, &got.meta, &got.spec))
				if a.ForbiddenDetail() != b.ForbiddenDetail() {
					t.Fatalf("spec %d at %s:\nfull:   %s\npruned: %s\n%s", i, lv, a.ForbiddenDetail(), b.ForbiddenDetail(), specJSON)
				}
			}
		}
	}
}

// BenchmarkPSSConvert converts a typical Deployment's pod template.
func BenchmarkPSSConvert(b *testing.B) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(pssBenchPod), &doc); err != nil {
		b.Fatal(err)
	}
	meta, spec := doc.Content[0].Content[1], doc.Content[0].Content[3]
	b.ReportAllocs()
	for b.Loop() {
		pssConvert(meta, spec)
	}
}

const pssBenchPod = `metadata:
  labels: {app.kubernetes.io/name: api, app.kubernetes.io/part-of: shop}
  annotations: {prometheus.io/scrape: "true", prometheus.io/port: "9090"}
spec:
  serviceAccountName: api
  securityContext: {runAsNonRoot: true, runAsUser: 10001, fsGroup: 10001, seccompProfile: {type: RuntimeDefault}}
  affinity:
    podAntiAffinity:
      preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm: {topologyKey: kubernetes.io/hostname, labelSelector: {matchLabels: {app.kubernetes.io/name: api}}}
  containers:
  - name: api
    image: registry.example.com/shop/api:1.4.2
    args: [--port=8080, --log-level=info]
    env:
    - {name: DB_HOST, value: db}
    - {name: DB_PASSWORD, valueFrom: {secretKeyRef: {name: db, key: password}}}
    ports:
    - {name: http, containerPort: 8080}
    - {name: metrics, containerPort: 9090}
    readinessProbe: {httpGet: {path: /healthz, port: http}, periodSeconds: 5}
    livenessProbe: {httpGet: {path: /healthz, port: http}, initialDelaySeconds: 10}
    resources: {requests: {cpu: 100m, memory: 128Mi}, limits: {memory: 256Mi}}
    securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
    volumeMounts: [{name: tmp, mountPath: /tmp}]
  volumes:
  - {name: tmp, emptyDir: {}}
`

// TestPSSAppendString checks that strings written as JSON decode back to
// themselves, invalid UTF-8 to U+FFFD as encoding/json writes it.
func TestPSSAppendString(t *testing.T) {
	for _, s := range []string{"", "runAsUser", "a\"b\\c", "tab\there\nline\x01\x7f", "ünïcode ✓ \u2028\u2029", "<&>", "bad \xff\xfe utf8"} {
		got := pssAppendString([]byte("x"), s)
		want, _ := json.Marshal(s)
		var back, wantBack string
		if err := sigsjson.UnmarshalCaseSensitivePreserveInts(got[1:], &back); err != nil {
			t.Fatalf("%q: %s does not decode: %v", s, got, err)
		}
		_ = json.Unmarshal(want, &wantBack)
		if got[0] != 'x' || back != wantBack {
			t.Errorf("%q: wrote %s, decodes to %q, want %q", s, got, back, wantBack)
		}
	}
}

// The API server's defaults that Pod Security sees are applied: a volume
// without a source is an emptyDir (allowed), and hostNetwork turns each
// container port into a host port (forbidden at baseline).
func TestPSSDefaults(t *testing.T) {
	spec := `{hostNetwork: true, volumes: [{name: data}], containers: [{name: c, image: i, ports: [{containerPort: 8080}]}]}`
	got := pssConvert(nil, pssTestNode(t, spec))
	if v := got.spec.Volumes[0]; v.EmptyDir == nil {
		t.Errorf("volume without a source: %+v", v)
	}
	if p := got.spec.Containers[0].Ports[0]; p.HostPort != 8080 {
		t.Errorf("port under hostNetwork: %+v", p)
	}
	got = pssConvert(nil, pssTestNode(t, `{volumes: [{name: data, hostPath: {path: /}}], containers: [{name: c, image: i, ports: [{containerPort: 8080}]}]}`))
	if v, p := got.spec.Volumes[0], got.spec.Containers[0].Ports[0]; v.EmptyDir != nil || p.HostPort != 0 {
		t.Errorf("defaults applied where the server applies none: %+v %+v", v, p)
	}
}
