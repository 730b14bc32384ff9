package hostile_test

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// chart writes a chart named name under dir whose one template is tpl,
// beside a pod that must still be scanned.
func chart(t *testing.T, dir, name, tpl, values string) {
	t.Helper()
	write(t, dir, map[string]string{
		name + "/Chart.yaml":       "apiVersion: v2\nname: " + name + "\nversion: 1.0.0\n",
		name + "/values.yaml":      values,
		name + "/templates/t.yaml": tpl,
		"pod.yaml":                 pod("a"),
	})
}

// TestHelmRenderBounds: issue 10 item 4. Each chart took gigabytes or
// minutes to render; each now ends in an input error naming the chart,
// or its template, and the limit, at the default limits (but the time
// limit, lowered so the test is fast), with the pod beside it scanned.
func TestHelmRenderBounds(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, tpl, values string
		args              []string
		want              []string
	}{
		// 4.8 GB.
		{name: "until", tpl: "{{ range until 100000000 }}x{{ end }}", want: []string{"--max-render-memory"}},
		// 7.7 GB.
		{name: "repeat", tpl: `a: {{ repeat 2000000000 "x" }}`, want: []string{"--max-render-memory"}},
		// 16 GB and 6 minutes.
		{name: "keys", tpl: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n{{- range $i := until 30000000 }}\n  k{{ $i }}: v\n{{- end }}\n", want: []string{"--max-render-memory"}},
		// Still growing at 60 s.
		{name: "tpl", tpl: "{{ tpl .Values.t . }}", values: "t: '{{ tpl .Values.t . }}'", want: []string{"--max-render-memory"}},
		// Output past the size limit names the template.
		{name: "output", tpl: "{{ range until 1000000 }}" + strings.Repeat("x", 100) + "{{ end }}", want: []string{filepath.Join("output", "templates", "t.yaml"), "--max-render-size"}},
		// A loop that allocates nothing runs until the time limit.
		{name: "loop", tpl: "{{ range until 100000 }}{{ range until 100000 }}{{ end }}{{ end }}", args: []string{"--render-timeout", "2s"}, want: []string{"--render-timeout", "2s"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			chart(t, dir, c.name, c.tpl, c.values)
			args := append([]string{"scan", "--fail-on", "none"}, c.args...)
			r := run(t, dir, nil, append(args, c.name, "pod.yaml")...)
			if c.want[0] == "--max-render-memory" && strings.Contains(r.stdout+r.stderr, "--render-timeout") {
				// The runtime of a child short of memory may stall until
				// the time limit kills it: the bound holds all the same.
				c.want = []string{"--render-timeout"}
			}
			r.want(t, 2, append([]string{c.name, "pod.yaml"}, c.want...)...)
			if r.took > 40*time.Second {
				t.Errorf("took %s", r.took)
			}
		})
	}
}

// TestHelmRenderSignal: SIGTERM during a render that would run for hours
// ends the run within 2 s (the renderer child is killed with it).
func TestHelmRenderSignal(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	chart(t, dir, "spin", "{{ range until 100000 }}{{ range until 100000 }}{{ end }}{{ end }}", "")
	cmd := exec.Command(bin, "scan", "--render-timeout", "1h", "spin")
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("still running 2 s after SIGTERM\n%s", tail(out.String()))
	}
}
