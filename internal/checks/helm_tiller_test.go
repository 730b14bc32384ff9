package checks

import "testing"

func TestTillerImage(t *testing.T) {
	for _, tt := range []struct {
		image string
		want  bool
	}{
		{"gcr.io/kubernetes-helm/tiller:v2.16.12", true},
		{"gcr.io/kubernetes-helm/tiller", true},
		{"ghcr.io/helm/tiller:v2.17.0", true},
		{"ghcr.io/helm/tiller@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", true},
		{"registry.example.com:5000/mirrors/gcr/tiller:v2.14.3", true},
		{"jessestuart/tiller:v2.16.1", true},
		{"tiller:canary", true},
		{"localhost:5000/tiller", true},
		// Not a valid reference, but plainly Tiller.
		{"Registry.Example.com/Helm/Tiller:v2 ", true},
		{"alpine/helm:3.14.4", false},
		{"registry.example.com/tiller/ui:1.0", false},
		{"registry.example.com/tiller-proxy:1", false},
		{"registry.example.com/agri/tillerx:2", false},
		{"registry.example.com/mytiller:2", false},
		{"", false},
	} {
		if got := tillerImage(tt.image); got != tt.want {
			t.Errorf("tillerImage(%q) = %v, want %v", tt.image, got, tt.want)
		}
	}
}
