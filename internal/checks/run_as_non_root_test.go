package checks

import (
	"strings"
	"testing"
)

// TestRunAsNonRootMerge walks the pod/container combinations: the
// container's own field wins, the pod's applies otherwise, and runAsUser=0
// loses to nothing.
func TestRunAsNonRootMerge(t *testing.T) {
	for _, tt := range []struct {
		pod, container string
		want           string // substring of the only finding; "" for none
	}{
		{"{}", "{}", `must set securityContext.runAsNonRoot=true or runAsUser > 0`},
		{"{runAsNonRoot: true}", "{}", ""},
		{"{}", "{runAsNonRoot: true}", ""},
		{"{runAsUser: 10001}", "{}", ""},
		{"{}", "{runAsUser: 1}", ""},
		{"{runAsNonRoot: false}", "{runAsNonRoot: true}", ""},
		{"{runAsUser: 0}", "{runAsUser: 10001}", ""},
		{"{runAsNonRoot: true}", "{runAsNonRoot: false}", `must not set securityContext.runAsNonRoot=false, which overrides runAsNonRoot=true of the pod`},
		{"{}", "{runAsNonRoot: false}", `must not set securityContext.runAsNonRoot=false`},
		{"{}", "{runAsNonRoot: false, runAsUser: 10001}", `must not set securityContext.runAsNonRoot=false`},
		{"{runAsNonRoot: false}", "{}", `must not run with runAsNonRoot=false inherited from the pod`},
		{"{runAsNonRoot: false, runAsUser: 10001}", "{}", `must not run with runAsNonRoot=false inherited from the pod`},
		{"{}", "{runAsUser: 0}", `must not set securityContext.runAsUser=0: UID 0 is root`},
		{"{runAsUser: 0}", "{}", `must not run with runAsUser=0 inherited from the pod: UID 0 is root`},
		{"{runAsUser: 0}", "{runAsNonRoot: false}", `must not run with runAsUser=0 inherited from the pod: UID 0 is root`},
		{"{runAsNonRoot: true}", "{runAsUser: 0}", `must not set securityContext.runAsUser=0: runAsNonRoot=true inherited from the pod forbids UID 0`},
		{"{runAsUser: 0}", "{runAsNonRoot: true}", `must not run with runAsUser=0 inherited from the pod: runAsNonRoot=true forbids UID 0, so the pod fails to start`},
		{"{runAsNonRoot: true, runAsUser: 0}", "{}", `must not run with runAsUser=0 inherited from the pod: runAsNonRoot=true inherited from the pod forbids UID 0`},
	} {
		manifest := "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  securityContext: " + tt.pod +
			"\n  containers:\n  - {name: c, image: \"registry/c:v1\", securityContext: " + tt.container + "}\n"
		got := scanManifestFor(t, "run-as-non-root", "", manifest)
		switch {
		case tt.want == "" && len(got) > 0:
			t.Errorf("pod %s, container %s: unexpected %q", tt.pod, tt.container, got)
		case tt.want != "" && (len(got) != 1 || !strings.Contains(got[0], tt.want)):
			t.Errorf("pod %s, container %s:\n got %q\nwant one containing %q", tt.pod, tt.container, got, tt.want)
		}
	}
}
