package checks

import "testing"

func TestCriticalHostPath(t *testing.T) {
	for p, want := range map[string]bool{
		"/":                                   true,
		"//":                                  true,
		"/etc":                                true,
		"/etc/":                               true,
		"/etc/ssl/certs":                      true,
		"/etcetera":                           false,
		"/var/run/docker.sock":                true,
		"/run/docker.sock":                    true,
		"/var/run/containerd/containerd.sock": true,
		"/run/containerd":                     true,
		"/var/run/crio/crio.sock":             true,
		"/var/run":                            true, // holds the runtime sockets
		"/run":                                true,
		"/var":                                true, // holds /var/lib/kubelet
		"/var/lib":                            true,
		"/var/lib/kubelet/pods":               true,
		"/var/lib/kubelet/../kubelet":         true,
		"/var/log":                            false,
		"/var/log/pods":                       false,
		"/var/lib/mysql":                      false,
		"/var/run/secrets":                    false,
		"/proc":                               true,
		"/proc/1/ns":                          true,
		"/sys/fs/cgroup":                      true,
		"/root/.ssh":                          true,
		"/dev/sda":                            true,
		"/tmp":                                false,
		"/srv/data":                           false,
		"/data/../etc":                        true,
		"":                                    false,
		"etc":                                 false,
		`C:\Windows`:                          false,
	} {
		if got := criticalHostPath(p); got != want {
			t.Errorf("criticalHostPath(%q) = %v, want %v", p, got, want)
		}
	}
}
