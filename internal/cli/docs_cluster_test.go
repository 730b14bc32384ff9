package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"

	"github.com/kubeharden/kubeharden/internal/fix"
	"github.com/kubeharden/kubeharden/internal/testenv"
)

// TestClusterDocs keeps docs/cluster.md true: its ClusterRole is what
// --print-rbac --write-reports prints, its manifests scan with no finding,
// and the API server accepts them all without a warning (the namespace
// enforces Pod Security restricted).
func TestClusterDocs(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "cluster.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := yamlBlock.FindAllStringSubmatch(string(doc), -1)
	if len(blocks) != 2 {
		t.Fatalf("%d yaml blocks in docs/cluster.md, want the role and the CronJob", len(blocks))
	}
	ctx := context.Background()
	var stdout, stderr bytes.Buffer
	if code := Main(ctx, []string{"cluster", "--print-rbac", "--write-reports"}, strings.NewReader(""), &stdout, &stderr); code != ExitOK {
		t.Fatalf("--print-rbac: exit %d: %s", code, stderr.String())
	}
	if blocks[0][1] != stdout.String() {
		t.Errorf("docs/cluster.md's role is not what --print-rbac --write-reports prints (regenerate it):\n%s", fix.UnifiedDiff("docs/cluster.md", "--print-rbac", blocks[0][1], stdout.String()))
	}

	dir := t.TempDir()
	for i, b := range blocks {
		if err := os.WriteFile(filepath.Join(dir, string(rune('a'+i))+".yaml"), []byte(b[1]), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	stdout.Reset()
	stderr.Reset()
	if code := Main(ctx, []string{"scan", "--fail-on", "info", dir}, strings.NewReader(""), &stdout, &stderr); code != ExitOK {
		t.Errorf("scan of the docs' manifests: exit %d:\n%s%s", code, stdout.String(), stderr.String())
	}

	env := testenv.Start(t)
	cfg := rest.CopyConfig(env.Config)
	w := &testenv.Warnings{}
	cfg.WarningHandler = w
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	client := dyn(t, cfg)
	n := 0
	for _, b := range blocks {
		for _, d := range strings.Split(b[1], "\n---\n") {
			var u unstructured.Unstructured
			if err := yaml.Unmarshal([]byte(d), &u.Object); err != nil {
				t.Fatal(err)
			}
			gvk := u.GroupVersionKind()
			m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := client.Resource(m.Resource).Namespace(u.GetNamespace()).Create(ctx, &u, metav1.CreateOptions{}); err != nil {
				t.Errorf("%s %s: %v", gvk.Kind, u.GetName(), err)
			}
			n++
		}
	}
	if n != 7 || len(w.List()) > 0 {
		t.Errorf("%d objects created, want 7; warnings %q", n, w.List())
	}
}
