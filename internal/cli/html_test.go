package cli

import (
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/internal/image/imagetest"
	"github.com/kubeharden/kubeharden/internal/testenv"
)

// TestHTMLScan: `scan -o html` writes one page, exits as every format
// does, and bounds the findings it lists by --html-max-findings.
func TestHTMLScan(t *testing.T) {
	out, errOut, code := run("scan", "-o", "html", "--fail-on", "none", "../../examples/insecure-app")
	if code != ExitOK {
		t.Fatalf("exit %d, want %d\n%s", code, ExitOK, errOut)
	}
	if !strings.HasPrefix(out, "<!DOCTYPE html>") || !strings.HasSuffix(out, "</html>\n") {
		t.Errorf("not one HTML page:\n%.300s", out)
	}
	for _, want := range []string{"examples/insecure-app/deploy.yaml:16:9", "run-as-non-root", "How to fix each check"} {
		if !strings.Contains(out, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if _, _, code := run("scan", "-o", "html", "../../examples/insecure-app"); code != ExitFindings {
		t.Errorf("findings above --fail-on: exit %d, want %d", code, ExitFindings)
	}
	out, _, _ = run("scan", "-o", "html", "--fail-on", "none", "--html-max-findings", "5", "../../examples/insecure-app")
	if !strings.Contains(out, "lists the 5 most severe of 80 findings") || strings.Count(out, `<li class="finding"`) != 5 {
		t.Errorf("--html-max-findings 5: %d findings listed", strings.Count(out, `<li class="finding"`))
	}
	if _, errOut, code := run("scan", "-o", "html", "--html-max-findings", "0", "../../examples/insecure-app"); code != ExitError || !strings.Contains(errOut, "--html-max-findings must be positive") {
		t.Errorf("--html-max-findings 0: exit %d, stderr %q; want a usage error", code, errOut)
	}
}

// TestHTMLImage: `image -o html` shows the image's inventory and the
// image checks' findings.
func TestHTMLImage(t *testing.T) {
	layout := imagetest.WriteLayout(t, imagetest.Busybox(t))
	out, errOut, code := run("image", "-o", "html", "--fail-on", "none", layout)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	for _, want := range []string{"<h2 id=\"images-h\">Images</h2>", "/bin/sh -&gt; /bin/busybox", "Shells", "image-shell", "Image " + layout} {
		if !strings.Contains(out, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// TestHTMLCluster: `cluster -o html` against a real API server groups the
// live objects by namespace and says how to edit them.
func TestHTMLCluster(t *testing.T) {
	env := testenv.Start(t)
	env.CreateNamespace(t, "shop", nil)
	createDeployment(t, env, "shop", "web", "web", privilegedNginx)
	code, out, errOut := clusterRunner(t)(env.KubeConfig, "-o", "html", "--fail-on", "none")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	for _, want := range []string{"Namespace &#34;shop&#34;", "Deployment web", "kubectl edit deployment.apps web -n shop", "Deployment/shop/web", "privileged-container"} {
		if !strings.Contains(out, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}
