package kustomize

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/source"
)

// FuzzBuild builds a fuzzed kustomization of one resource file (also
// available as patch.yaml). A build must not panic, every error must name
// a file, and Locate must stay inside the file it points into.
func FuzzBuild(f *testing.F) {
	deploy, err := os.ReadFile(filepath.Join("testdata", "base", "deployment.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n"
	for _, seed := range []struct{ kust, res string }{
		{"resources:\n  - resource.yaml\n", string(deploy)},
		{"namePrefix: p-\nnameSuffix: -s\nnamespace: ns\nresources: [resource.yaml]\nimages: [{name: registry.example.com/shop/web, newTag: x}]\n", string(deploy)},
		{"resources: [resource.yaml]\npatches:\n  - path: patch.yaml\n", string(deploy)},
		{"resources: [resource.yaml]\npatches:\n  - target: {kind: Deployment}\n    patch: '[{\"op\": \"add\", \"path\": \"/spec/template/spec/containers/0/x\", \"value\": 1}]'\n", string(deploy)},
		{"resources: [resource.yaml]\nconfigMapGenerator:\n  - name: c\n    literals: [a=b]\n", cm},
		{"resources: [resource.yaml, resource.yaml]\n", cm},
		{"resources: [.]\n", cm},
		{"resources: [/]\n", cm},
		{"resources: [../../..]\n", cm},
		{"resources: [/dev/zero]\n", cm},
		{"generators: [resource.yaml]\n", "apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata:\n  name: g\nfiles: [/etc/hostname]\n"},
		{"resources: [resource.yaml]\n", "apiVersion: v1\nkind: List\nitems:\n  - " + "apiVersion: v1\n    kind: Secret\n    metadata: {name: s}\n"},
		{"resources: [resource.yaml]\n", "a: &a [*a]\n"},
		{"resources: [github.com/x/y]\nhelmCharts: [{name: x}]\n", cm},
		{"{\"resources\": [\"resource.yaml\"]}", "{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"j\"}}"},
		{"resources:\n- resource.yaml\r\nnamePrefix: x-\r", "apiVersion: v1\rkind: Pod\rmetadata:\r  name: cr\rspec:\r  containers: [{name: c, image: i}]\r"},
		{"", ""},
	} {
		f.Add(seed.kust, seed.res)
	}
	f.Fuzz(func(t *testing.T, kust, res string) {
		dir := t.TempDir()
		for name, content := range map[string]string{"kustomization.yaml": kust, "resource.yaml": res, "patch.yaml": res} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		docs, errs := Build(ctx, dir, Options{})
		for _, e := range errs {
			if e.File == "" || e.Message == "" || e.Line < 0 {
				t.Errorf("error without a file or message: %#v", e)
			}
			if e.Line > 0 {
				if data, err := os.ReadFile(e.File); err == nil && e.Line > source.LineBreaks(data)+1 {
					t.Errorf("error line %d past the end of %s", e.Line, e.File)
				}
			}
		}
		for _, d := range docs {
			if d.File == "" || d.Locate == nil {
				t.Fatalf("document without a file or Locate: %#v", d)
			}
			data, err := os.ReadFile(d.File)
			if err != nil {
				t.Fatalf("document file %s: %v", d.File, err)
			}
			lines := source.LineBreaks(data) + 1
			for _, p := range fieldPaths(d.Data) {
				line, col, ok := d.Locate(p)
				if ok && (line < 1 || line > lines || col < 1) {
					t.Errorf("Locate(%q) = %d:%d, outside %s (%d lines)", p, line, col, d.File, lines)
				}
			}
		}
	})
}

// fieldPaths returns the paths of a built object's fields, as checks
// write them, and a few malformed ones.
func fieldPaths(data []byte) []string {
	paths := []string{"", ".", "[0]", "a..b", "metadata.[1]", "spec[", "spec[-1]", "spec[99999999999999999999]"}
	var n yaml.Node
	if yaml.Unmarshal(data, &n) != nil {
		return paths
	}
	var walk func(n *yaml.Node, path string, depth int)
	walk = func(n *yaml.Node, path string, depth int) {
		n = resolve(n)
		if n == nil || depth > 20 || len(paths) > 500 {
			return
		}
		paths = append(paths, path)
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				p := n.Content[i].Value
				if path != "" {
					p = path + "." + p
				}
				walk(n.Content[i+1], p, depth+1)
				paths = append(paths, p+".missing")
			}
		case yaml.SequenceNode:
			for i, it := range n.Content {
				walk(it, path+"["+strconv.Itoa(i)+"]", depth+1)
			}
			paths = append(paths, path+"["+strconv.Itoa(len(n.Content))+"]")
		}
	}
	walk(&n, "", 0)
	return paths
}
