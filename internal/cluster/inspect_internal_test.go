package cluster

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeharden/kubeharden/internal/check/clustercheck"
)

func TestRunsKured(t *testing.T) {
	for image, want := range map[string]bool{
		"ghcr.io/kubereboot/kured:1.17.1":                                      true,
		"weaveworks/kured:1.2.0":                                               true,
		"registry.example:5000/mirror/kured@sha256:" + strings.Repeat("a", 64): true,
		"registry.example/platform/kured-arm64:1.16":                           true,
		"nginx:1.27":                     false,
		"registry.example/kured/agent:1": false,
		"NOT A REFERENCE":                false,
	} {
		ds := &appsv1.DaemonSet{}
		ds.Spec.Template.Spec.Containers = []corev1.Container{{Name: "sidecar", Image: "busybox:1"}, {Name: "main", Image: image}}
		if got := runsKured(ds); got != want {
			t.Errorf("runsKured(%q) = %v, want %v", image, got, want)
		}
	}
}

func TestNodeFacts(t *testing.T) {
	long := strings.Repeat("x", 200)
	for _, tc := range []struct {
		labels, annotations map[string]string
		want                clustercheck.Node
	}{
		{nil, nil, clustercheck.Node{Name: "n"}},
		{
			map[string]string{"kubernetes.azure.com/agentpool": "sys", "agentpool": "sys"}, nil,
			clustercheck.Node{Name: "n", Pool: "kubernetes.azure.com/agentpool=sys", ManagedUpdates: "kubernetes.azure.com/agentpool=sys"},
		},
		{
			// EKS managed node groups are a pool, not managed updates;
			// Auto Mode is.
			map[string]string{"eks.amazonaws.com/nodegroup": "apps", "eks.amazonaws.com/compute-type": "ec2"}, nil,
			clustercheck.Node{Name: "n", Pool: "eks.amazonaws.com/nodegroup=apps"},
		},
		{
			map[string]string{"eks.amazonaws.com/compute-type": "auto", "karpenter.sh/nodepool": "general"}, nil,
			clustercheck.Node{Name: "n", Pool: "karpenter.sh/nodepool=general", ManagedUpdates: "eks.amazonaws.com/compute-type=auto"},
		},
		{
			nil, map[string]string{"kured.dev/kured-reboot-in-progress": long, "kured.dev/kured-most-recent-reboot-needed": "x"},
			clustercheck.Node{Name: "n", RebootPending: "kured.dev/kured-reboot-in-progress=" + long[:maxFactLen] + "..."},
		},
		{
			// Only the most recent time a reboot was needed: done.
			nil, map[string]string{"weave.works/kured-most-recent-reboot-needed": "2026-01-01T00:00:00Z"},
			clustercheck.Node{Name: "n"},
		},
	} {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n", Labels: tc.labels, Annotations: tc.annotations}}
		if got := nodeFacts(n); got != tc.want {
			t.Errorf("nodeFacts(%v, %v) =\n %+v, want\n %+v", tc.labels, tc.annotations, got, tc.want)
		}
	}
}
