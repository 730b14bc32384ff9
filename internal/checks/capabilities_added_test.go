package checks

import (
	"slices"
	"testing"
)

// TestCapabilitiesAddedAllowed covers allowedCapabilities: its names are
// normalised like the added ones, and an empty list allows nothing.
func TestCapabilitiesAddedAllowed(t *testing.T) {
	const manifest = `apiVersion: v1
kind: Pod
metadata:
  name: api
spec:
  containers:
  - name: api
    image: registry/api:v1
    securityContext:
      capabilities:
        add: [NET_BIND_SERVICE, cap_chown, SYS_TIME]
`
	for _, tt := range []struct {
		config string
		want   []string
	}{
		{"", []string{
			`container "api" must not add capability "CHOWN": only NET_BIND_SERVICE may be added`,
			`container "api" must not add capability "SYS_TIME": only NET_BIND_SERVICE may be added`,
		}},
		{"parameters: {allowedCapabilities: [net_bind_service, CAP_CHOWN, CHOWN]}\n", []string{
			`container "api" must not add capability "SYS_TIME": only NET_BIND_SERVICE, CHOWN may be added`,
		}},
		{"parameters: {allowedCapabilities: []}\n", []string{
			`container "api" must not add capability "NET_BIND_SERVICE": no capability may be added`,
			`container "api" must not add capability "CHOWN": no capability may be added`,
			`container "api" must not add capability "SYS_TIME": no capability may be added`,
		}},
		// Allowing a dangerous capability silences it like any other.
		{"parameters: {allowedCapabilities: [NET_BIND_SERVICE, CHOWN, SYS_TIME]}\n", nil},
	} {
		got := scanManifestFor(t, "capabilities-added", tt.config, manifest)
		if !slices.Equal(got, tt.want) {
			t.Errorf("config %q:\n got %q\nwant %q", tt.config, got, tt.want)
		}
	}
}

func TestNormCapability(t *testing.T) {
	for in, want := range map[string]string{
		"SYS_ADMIN":     "SYS_ADMIN",
		"sys_admin":     "SYS_ADMIN",
		"CAP_SYS_ADMIN": "SYS_ADMIN",
		"cap_Sys_Admin": "SYS_ADMIN",
		" NET_RAW ":     "NET_RAW", //nolint:gocritic // whitespace is the case under test
		"all":           "ALL",
		"CAP_":          "",
	} {
		if got := normCapability(in); got != want {
			t.Errorf("normCapability(%q) = %q, want %q", in, got, want)
		}
	}
}
