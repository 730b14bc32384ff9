package vuln

import "testing"

func TestDistroOf(t *testing.T) {
	for _, tc := range []struct {
		osr        map[string]string
		eco        Ecosystem
		release    string
		purlDistro string
	}{
		{map[string]string{"ID": "debian", "VERSION_ID": "12"}, Debian, "12", "debian-12"},
		{map[string]string{"ID": "debian"}, Debian, "", "debian"}, // sid
		{map[string]string{"ID": "ubuntu", "VERSION_ID": "22.04", "VERSION": "22.04.4 LTS (Jammy Jellyfish)"}, Ubuntu, "22.04:LTS", "ubuntu-22.04"},
		{map[string]string{"ID": "ubuntu", "VERSION_ID": "23.10", "VERSION": "23.10 (Mantic Minotaur)"}, Ubuntu, "23.10", "ubuntu-23.10"},
		{map[string]string{"ID": "alpine", "VERSION_ID": "3.19.1"}, Alpine, "v3.19", "alpine-3.19.1"},
		{map[string]string{"ID": "alpine", "VERSION_ID": "3.20.0_alpha20240329"}, Alpine, "v3.20", "alpine-3.20.0_alpha20240329"},
		{map[string]string{"ID": "wolfi", "VERSION_ID": "20230201"}, Wolfi, "", "wolfi-20230201"},
		{map[string]string{"ID": "rhel", "VERSION_ID": "9.4"}, RedHat, "9", "rhel-9.4"},
		{map[string]string{"ID": "rocky", "VERSION_ID": "8.9"}, Rocky, "8", "rocky-8.9"},
		{map[string]string{"ID": "almalinux", "VERSION_ID": "9.3"}, AlmaLinux, "9", "almalinux-9.3"},
		{map[string]string{"ID": "fedora", "VERSION_ID": "40"}, Fedora, "40", "fedora-40"},
		{map[string]string{}, "", "", ""},
	} {
		d := distroOf(tc.osr)
		if d.ecosystem != tc.eco || d.release != tc.release || d.purlDistro() != tc.purlDistro {
			t.Errorf("%v: %q %q %q, want %q %q %q", tc.osr, d.ecosystem, d.release, d.purlDistro(), tc.eco, tc.release, tc.purlDistro)
		}
	}
}

func TestGoSemver(t *testing.T) {
	for in, want := range map[string]string{
		"go1.22.5":                "v1.22.5",
		"go1.21":                  "v1.21.0",
		"go1.21rc2":               "v1.21.0-rc.2",
		"go1.22.5 X:boringcrypto": "v1.22.5",
		"go1.18beta1":             "v1.18.0-beta.1",
		"devel go1.23-abc":        "",
		"":                        "",
	} {
		if got := goSemver(in); got != want {
			t.Errorf("goSemver(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPURL(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{purl("deb", "debian", "libc6", "2.36-9+deb12u4", [2]string{"distro", "debian-12"}, [2]string{"arch", "amd64"}, [2]string{"upstream", ""}), "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12"},
		{purl("deb", "debian", "bsdutils", "1:2.38.1-5"), "pkg:deb/debian/bsdutils@1%3A2.38.1-5"},
		{purl("npm", "@angular", "core", "17.0.0"), "pkg:npm/%40angular/core@17.0.0"},
		{purl("golang", "github.com/spf13/", "pflag", "v1.0.10"), "pkg:golang/github.com/spf13/pflag@v1.0.10"},
		{purl("maven", "org.apache.logging.log4j", "log4j-core", "2.14.1"), "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"},
		{purl("pypi", "", "a b", "1 #?&"), "pkg:pypi/a%20b@1%20%23%3F%26"},
	} {
		if tc.got != tc.want {
			t.Errorf("got  %s\nwant %s", tc.got, tc.want)
		}
	}
}

func TestSPDXExpression(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
		ok   bool
	}{
		{[]string{"MIT"}, "MIT", true},
		{[]string{"GPL-2.0-or-later WITH Classpath-exception-2.0"}, "GPL-2.0-or-later WITH Classpath-exception-2.0", true},
		{[]string{"MIT OR (Apache-2.0 AND BSD-3-Clause)"}, "MIT OR (Apache-2.0 AND BSD-3-Clause)", true},
		{[]string{"MIT", "ISC"}, "(MIT) AND (ISC)", true},
		{[]string{"Apache 2.0"}, "", false},
		{[]string{"MIT OR"}, "", false},
		{[]string{"BSD License"}, "", false},
		{nil, "", false},
	} {
		got, ok := spdxExpression(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%q: %q %v, want %q %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
