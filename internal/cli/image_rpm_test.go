package cli

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kubeharden/kubeharden/internal/image/imagetest"
)

// TestImageSBOMRPM: `image --sbom cyclonedx` of a UBI 9 image lists the
// packages of its sqlite RPM database (made by rpm itself, see
// internal/vuln/testdata/rpm), with their PURLs, licenses and OSV
// ecosystem; the SPDX SBOM lists them too, and so does the SBOM of a UBI 8
// image's BerkeleyDB Packages. An ndb database (SUSE) is an input error
// (exit 2) naming it, and the rest of the SBOM is written.
func TestImageSBOMRPM(t *testing.T) {
	db, err := os.ReadFile("../vuln/testdata/rpm/rpmdb.sqlite")
	if err != nil {
		t.Fatal(err)
	}
	img := imagetest.Image(t, v1.Config{},
		imagetest.Layer(t,
			imagetest.File("etc/os-release", "NAME=\"Red Hat Enterprise Linux\"\nID=\"rhel\"\nVERSION_ID=\"9.4\"\n"),
			imagetest.File("usr/lib/sysimage/rpm/rpmdb.sqlite", string(db)),
		))
	layout := imagetest.WriteLayout(t, img)
	out, errOut, code := run("image", "--sbom", "cyclonedx", layout)
	if code != ExitOK || errOut != "" {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	var bom struct {
		Components []struct {
			Name, Version, PURL string
			Licenses            []struct{ License struct{ Name string } }
			Properties          []struct{ Name, Value string }
		}
	}
	if err := json.Unmarshal([]byte(out), &bom); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var got []string
	for _, c := range bom.Components {
		if c.PURL == "" {
			continue // the operating system
		}
		line := c.Name + " " + c.Version + " " + c.PURL
		for _, l := range c.Licenses {
			line += " " + l.License.Name
		}
		for _, p := range c.Properties {
			if p.Name == "kubeharden:package:ecosystem" || p.Name == "kubeharden:package:source-name" {
				line += " " + p.Value
			}
		}
		got = append(got, line)
	}
	want := []string{
		"kh-epoch 2:3.1-4.el9 pkg:rpm/redhat/kh-epoch@3.1-4.el9?arch=noarch&distro=rhel-9.4&epoch=2&upstream=kh-epoch-3.1-4.el9.src.rpm GPL-2.0-or-later Red Hat:9",
		"kh-hello 1.0-1.el9 pkg:rpm/redhat/kh-hello@1.0-1.el9?arch=noarch&distro=rhel-9.4&upstream=kh-hello-1.0-1.el9.src.rpm MIT Red Hat:9",
		"kh-tools 1.2-3.el9 pkg:rpm/redhat/kh-tools@1.2-3.el9?arch=noarch&distro=rhel-9.4&upstream=kh-tools-1.2-3.el9.src.rpm Apache-2.0 Red Hat:9",
		"kh-tools-libs 1.2-3.el9 pkg:rpm/redhat/kh-tools-libs@1.2-3.el9?arch=noarch&distro=rhel-9.4&upstream=kh-tools-1.2-3.el9.src.rpm Apache-2.0 Red Hat:9 kh-tools",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("components:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	out, errOut, code = run("image", "--sbom", "spdx", layout)
	if code != ExitOK || errOut != "" || !strings.Contains(out, "pkg:rpm/redhat/kh-tools-libs@1.2-3.el9") {
		t.Errorf("spdx: exit %d, stderr %s\n%s", code, errOut, out)
	}

	bdb, err := os.ReadFile("../vuln/testdata/rpm/Packages")
	if err != nil {
		t.Fatal(err)
	}
	ubi8 := imagetest.WriteLayout(t, imagetest.Image(t, v1.Config{},
		imagetest.Layer(t,
			imagetest.File("etc/os-release", "ID=\"rhel\"\nVERSION_ID=\"8.10\"\n"),
			imagetest.File("var/lib/rpm/Packages", string(bdb)),
		)))
	out, errOut, code = run("image", "--sbom", "cyclonedx", ubi8)
	if code != ExitOK || errOut != "" || !strings.Contains(out, `"pkg:rpm/redhat/kh-tools-libs@1.2-3.el9?arch=noarch&distro=rhel-8.10&upstream=kh-tools-1.2-3.el9.src.rpm"`) {
		t.Errorf("BerkeleyDB: exit %d, stderr %s\n%s", code, errOut, out)
	}

	broken := imagetest.WriteLayout(t, imagetest.Image(t, v1.Config{},
		imagetest.Layer(t,
			imagetest.File("usr/lib/sysimage/rpm/Packages.db", "RpmP"+strings.Repeat("\x00", 60)),
			imagetest.File("app/node_modules/ok/package.json", `{"name":"ok","version":"1.0.0"}`),
		)))
	out, errOut, code = run("image", "--sbom", "cyclonedx", broken)
	if code != ExitError || !strings.Contains(out, "pkg:npm/ok@1.0.0") || !strings.Contains(errOut, "/usr/lib/sysimage/rpm/Packages.db: ndb RPM databases (SUSE) are not read yet") {
		t.Errorf("ndb: exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
}
