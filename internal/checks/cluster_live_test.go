package checks

import (
	"cmp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/check/clustercheck"
	"github.com/kubeharden/kubeharden/internal/k8sversion"
	"github.com/kubeharden/kubeharden/internal/policy"
	"github.com/kubeharden/kubeharden/internal/scan"
)

// liveChecks are the cluster checks that read what a live cluster shows.
var liveChecks = []string{"anonymous-access", "node-os-patching", "node-version-skew", "rbac-authorization"}

func runLive(t *testing.T, live *clustercheck.Live) []check.Finding {
	t.Helper()
	pol := policy.New(nil, Registry(), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	res := scan.RunCluster(clustercheck.Target{Version: k8sversion.Version{Major: 1, Minor: 35}, Name: "prod", Live: live}, scan.Options{Registry: Registry(), Policy: pol})
	var out []check.Finding
	for _, f := range res.Findings {
		if slices.Contains(liveChecks, f.Check) {
			out = append(out, f)
		}
	}
	return out
}

// TestLiveChecksPaths: each finding names the fact it is about, at the
// check's severity (a pending Kured reboot one lower), located in the
// cluster, with no object.
func TestLiveChecksPaths(t *testing.T) {
	live := &clustercheck.Live{
		NodesKnown: true,
		Nodes: []clustercheck.Node{
			{Name: "old", KubeletVersion: "v1.30.1", Pool: "p=1", KernelVersion: "6.1.9", OSImage: "os"},
			{Name: "w-1", KubeletVersion: "v1.35.0", Pool: "p=1", KernelVersion: "6.1.10", OSImage: "os"},
			{Name: "w-2", KubeletVersion: "v1.35.0", Pool: "p=1", KernelVersion: "6.1.10", OSImage: "os", RebootPending: "kured.dev/kured-reboot-in-progress=2025-12-31T00:00:00Z"},
			{Name: "w-3", Pool: "p=1", KernelVersion: "6.1.10", OSImage: "os-old"},
		},
		UpdatersKnown: true,
		RBAC:          clustercheck.RBACProbe{Known: true, User: "kubeharden-probe-x", Allowed: true},
		Anonymous:     clustercheck.AnonymousProbe{Known: true, Answered: []string{"GET /api"}},
	}
	type want struct {
		check, path string
		sev         check.Severity
	}
	var got []want
	for _, f := range runLive(t, live) {
		if f.Object != nil || f.Location != (check.Location{File: "prod"}) {
			t.Errorf("%s: object %v, location %v", f.Check, f.Object, f.Location)
		}
		got = append(got, want{f.Check, f.Path, f.Severity})
	}
	wants := []want{
		{"anonymous-access", "anonymous", check.High},
		{"node-os-patching", "nodes/old/kernelVersion", check.Medium},
		{"node-os-patching", "nodes/w-2/annotations/kured.dev/kured-reboot-in-progress", check.Low},
		{"node-os-patching", "nodes/w-3/osImage", check.Medium},
		{"node-os-patching", "updaters", check.Medium},
		{"node-version-skew", "nodes/old/kubeletVersion", check.Medium},
		{"rbac-authorization", "authorization", check.Critical},
	}
	slices.SortFunc(got, func(a, b want) int { return cmp.Or(strings.Compare(a.check, b.check), strings.Compare(a.path, b.path)) })
	if !slices.Equal(got, wants) {
		t.Errorf("findings:\n got %v\nwant %v", got, wants)
	}
}

// TestLiveChecksUnknown: offline, or where nothing could be read, the
// live checks say nothing, however bad the unknown parts look.
func TestLiveChecksUnknown(t *testing.T) {
	bad := []clustercheck.Node{
		{Name: "old", KubeletVersion: "v1.20.0", Pool: "p=1", KernelVersion: "1", OSImage: "a", RebootPending: "weave.works/kured-reboot-in-progress=x"},
		{Name: "new", KubeletVersion: "v1.40.0", Pool: "p=1", KernelVersion: "2", OSImage: "b"},
	}
	for name, live := range map[string]*clustercheck.Live{
		"offline": nil,
		"nothing known": {
			Nodes:     bad,
			RBAC:      clustercheck.RBACProbe{User: "u", Allowed: true},
			Anonymous: clustercheck.AnonymousProbe{Answered: []string{"GET /api"}},
		},
	} {
		if got := runLive(t, live); len(got) > 0 {
			t.Errorf("%s: %v", name, got)
		}
	}
}

func TestNaturalCompare(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"6.1.10", "6.1.9", 1},
		{"6.1.9", "6.1.10", -1},
		{"5.15.0-1079-azure", "5.15.0-1079-azure", 0},
		{"5.15.0-1080-azure", "5.15.0-1079-azure", 1},
		{"6.01", "6.1", 0},
		{"6.1", "6.1.0", -1},
		{"Ubuntu 22.04.5 LTS", "Ubuntu 22.04.4 LTS", 1},
		{"99999999999999999999999", "1", 1},
		{"a", "b", -1},
	} {
		if got := naturalCompare(tc.a, tc.b); got != tc.want {
			t.Errorf("naturalCompare(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
