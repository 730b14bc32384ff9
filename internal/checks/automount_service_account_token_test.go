package checks

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kubeharden/kubeharden/internal/scan"
	"github.com/kubeharden/kubeharden/internal/scan/scantest"
)

// TestAutomountAcrossFiles covers what the one-file testdata cannot: the
// ServiceAccount in another file of the scan, and objects without a
// namespace placed in the scan's namespace.
func TestAutomountAcrossFiles(t *testing.T) {
	const deploy = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      serviceAccountName: api
      containers:
      - name: api
        image: registry/api:v1
`
	const sa = `apiVersion: v1
kind: ServiceAccount
metadata:
  name: api
  namespace: shop
automountServiceAccountToken: false
`
	dir := t.TempDir()
	for name, data := range map[string]string{"deploy.yaml": deploy, "sa.yaml": sa} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		namespace string
		inputs    []string
		want      int
	}{
		{"shop", []string{"deploy.yaml", "sa.yaml"}, 0},
		// The ServiceAccount comes first: order does not matter.
		{"shop", []string{"sa.yaml", "deploy.yaml"}, 0},
		{"shop", []string{"deploy.yaml"}, 1},
		// Without a namespace the Deployment lands in another one than
		// the ServiceAccount.
		{"staging", []string{"deploy.yaml", "sa.yaml"}, 1},
	} {
		var inputs []string
		for _, in := range tt.inputs {
			inputs = append(inputs, filepath.Join(dir, in))
		}
		res := scantest.Paths(inputs, scan.Options{Registry: Registry(), Namespace: tt.namespace})
		if len(res.Errors) > 0 {
			t.Fatalf("input errors: %v", res.Errors)
		}
		got := 0
		for _, f := range res.Findings {
			if f.Check == "automount-service-account-token" {
				got++
			}
		}
		if got != tt.want {
			t.Errorf("namespace %q, inputs %v: %d findings, want %d", tt.namespace, tt.inputs, got, tt.want)
		}
	}
}
