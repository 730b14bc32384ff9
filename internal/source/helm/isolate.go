package helm

// Rendering in a child process.
//
// The Helm SDK runs templates with text/template, which no one can stop
// from outside: it takes no context, and a goroutine cannot be killed. Its
// function map is private to the engine, so `until`, `repeat`, `tpl` and
// the two hundred other functions of a chart cannot be swapped for bounded
// ones, and the output builds in memory, out of reach of any size check.
// A chart of a few bytes can so take gigabytes (`range until 100000000`),
// recurse through `tpl` until the stack limit of the runtime kills the
// whole process, or loop for hours. Bounds on such a render can only be
// held from outside: Render runs the templates in a child process (this
// very binary, started again), limits its memory (RLIMIT_DATA, the Go
// runtime's memory limit and its stack limit), kills it past the render
// timeout or when the context ends, and reads at most the output limit
// back. A killed child takes its runaway render with it; nothing is left
// running in this process.
//
// The cost is a process start per render (about 20 ms, and the chart
// loaded twice), next to a chart's render time of tens of milliseconds.
//
// The child is any binary that links this package: its init function
// serves one request when childEnv is set, before main or a test's TestMain
// runs. So the kubeharden command and every test binary that renders
// charts are renderers as they are.

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/kubeharden/kubeharden/internal/limits"
	"github.com/kubeharden/kubeharden/internal/source"
)

// childEnv set to childProtocol makes a process a renderer child.
const (
	childEnv      = "KUBEHARDEN_HELM_RENDERER"
	childProtocol = "1"
)

func init() {
	if os.Getenv(childEnv) == childProtocol {
		os.Exit(serveChild(os.Stdin, os.Stdout, os.Stderr))
	}
}

// request is what the parent asks of a child.
type request struct {
	Path    string
	Options Options
	Limits  limits.Limits
}

// response is what a child answers: the output of each template by the
// engine's name, or why there is none.
type response struct {
	Out map[string]string
	// Traced is the output of the traced render (see trace.go), nil when
	// it failed or would pass the size limit.
	Traced map[string]string
	// Err is the engine's error as text, all it says: the engine rebuilds
	// its errors with fmt and keeps no typed location.
	Err string
	// Prepare is an error loading the chart, which the parent, having
	// loaded it first, did not have: the chart changed in between.
	Prepare string
	// Over, when the output is past the render size limit, is the
	// template that wrote the most of it.
	Over string
}

// serveChild reads a request from in, renders, and writes the response
// to out; it returns the exit code of the child.
func serveChild(in io.Reader, out, errw io.Writer) int {
	// The parent, which coalesced the same values first, said the
	// warnings already.
	log.SetOutput(io.Discard)
	var req request
	if err := gob.NewDecoder(in).Decode(&req); err != nil {
		fmt.Fprintln(errw, "kubeharden helm renderer: reading the request:", err)
		return 1
	}
	l := req.Limits.WithDefaults()
	holdTo(l)
	// The parent kills this process past the time limit; should the
	// parent be gone, it ends itself a little later.
	time.AfterFunc(l.RenderTimeout+5*time.Second, func() { os.Exit(3) })
	resp := renderChild(req.Path, req.Options, l)
	if err := gob.NewEncoder(out).Encode(resp); err != nil {
		fmt.Fprintln(errw, "kubeharden helm renderer: writing the response:", err)
		return 1
	}
	return 0
}

// holdTo bounds this process: the runtime collects hard short of the
// memory limit, a stack overflows at a quarter of it, and on Linux the
// kernel refuses data past it, which the runtime reports as a fatal out
// of memory (the parent reads it from stderr), and kills the process past
// a few seconds more processor time than the time limit.
func holdTo(l limits.Limits) {
	debug.SetMemoryLimit(l.RenderMemory - l.RenderMemory/8)
	debug.SetMaxStack(int(min(l.RenderMemory/4, 1<<30)))
	limitKernel(l.RenderMemory, l.RenderTimeout+5*time.Second)
}

func renderChild(path string, opts Options, l limits.Limits) response {
	p, errs := prepare(path, opts)
	if p == nil {
		if len(errs) > 0 {
			return response{Prepare: errs[0].Error()}
		}
		return response{}
	}
	p.pristine = copyValues(p.top).(chartutil.Values)
	start := time.Now()
	out, err := p.execute()
	took := time.Since(start)
	if err != nil {
		return response{Err: err.Error()}
	}
	total, most, over := int64(0), -1, ""
	for k, v := range out {
		total += int64(len(v))
		if len(v) > most || len(v) == most && k < over {
			most, over = len(v), k
		}
	}
	if total > l.RenderSize {
		return response{Over: over}
	}
	// The traced render costs as much again: a chart that took a third
	// of the time limit goes without it rather than past the limit.
	var traced map[string]string
	if took < l.RenderTimeout/3 {
		traced = p.traced(opts.Namespace == "")
	}
	for _, v := range traced {
		total += int64(len(v))
	}
	if total > l.RenderSize {
		traced = nil
	}
	return response{Out: out, Traced: traced}
}

// engineError is a template error of the engine, as text.
type engineError string

func (e engineError) Error() string { return string(e) }

// limitError is a render stopped at a limit: Exceeded says which, template
// (an engine name) where, when known, and hint why, when known.
type limitError struct {
	exceeded error
	template string
	hint     string
}

func (e *limitError) Error() string { return e.exceeded.Error() }
func (e *limitError) Unwrap() error { return e.exceeded }

// renderError turns an error of execute into an Error naming the chart,
// or the template when known.
func (p *prepared) renderError(err error) source.Error {
	var ee engineError
	var le *limitError
	switch {
	case errors.As(err, &ee):
		return templateError(p.path, p.keys, ee)
	case errors.As(err, &le):
		e := source.Error{File: p.path, Message: "rendering the chart " + le.Error(), Err: le.exceeded}
		if f, ok := p.keys[le.template]; ok && le.template != "" {
			e.File = f
			e.Message = "the output of chart " + p.path + " " + le.Error() + "; this template writes the most of it"
		}
		if le.hint != "" {
			e.Message += ": " + le.hint
		}
		return e
	}
	return source.Error{File: p.path, Message: "cannot render chart: " + err.Error(), Err: err}
}

// stderrMax bounds what is kept of a child's standard error: enough for a
// runtime's fatal error and the top of the stack it prints.
const stderrMax = 64 << 10

// execute renders the chart in a child process held to l. It returns the
// output of each template by engine name and that of the traced render
// (nil when there is none), or an engineError, a
// *limitError, ctx's error when ctx ended, or why the child failed.
func execute(ctx context.Context, path string, opts Options, l limits.Limits) (out, traced map[string]string, err error) {
	l = l.WithDefaults()
	exe, xerr := os.Executable()
	if xerr != nil {
		return inProcess(ctx, path, opts, l)
	}
	var req bytes.Buffer
	if err := gob.NewEncoder(&req).Encode(request{Path: path, Options: opts, Limits: l}); err != nil {
		return nil, nil, fmt.Errorf("encoding the render request: %w", err)
	}
	tctx, cancel := context.WithTimeout(ctx, l.RenderTimeout)
	defer cancel()
	cmd := exec.CommandContext(tctx, exe)
	// Two threads run the GC beside the one template; more would only
	// take memory (thread stacks count against the data limit).
	cmd.Env = append(os.Environ(), childEnv+"="+childProtocol, "GOMAXPROCS=2", "GOTRACEBACK=all")
	if raceEnabled {
		// A race build sleeps a second at exit by default.
		cmd.Env = append(cmd.Env, "GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	}
	cmd.Stdin = &req
	stderr := &capped{max: stderrMax}
	cmd.Stderr = stderr
	cmd.WaitDelay = time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, fmt.Errorf("starting the renderer: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("starting the renderer: %w", err)
	}
	// The child checks its output against the limit; the margin is gob's
	// framing and the template names.
	readMax := l.RenderSize + 1<<20
	data, rerr := io.ReadAll(io.LimitReader(stdout, readMax+1))
	tooBig := int64(len(data)) > readMax
	if tooBig {
		_ = cmd.Process.Kill()
	}
	werr := cmd.Wait()
	switch {
	case ctx.Err() != nil:
		return nil, nil, ctx.Err()
	case tctx.Err() != nil:
		return nil, nil, &limitError{exceeded: l.RenderTimeoutExceeded()}
	case tooBig:
		return nil, nil, &limitError{exceeded: l.RenderSizeExceeded()}
	case werr != nil:
		return nil, nil, crashed(werr, stderr.String(), l)
	case rerr != nil:
		return nil, nil, fmt.Errorf("reading the renderer's output: %w", rerr)
	}
	var resp response
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&resp); err != nil {
		return nil, nil, fmt.Errorf("reading the renderer's output: %w", err)
	}
	switch {
	case resp.Err != "":
		return nil, nil, engineError(resp.Err)
	case resp.Over != "":
		return nil, nil, &limitError{exceeded: l.RenderSizeExceeded(), template: resp.Over}
	case resp.Prepare != "":
		return nil, nil, errors.New("the chart changed while it was rendered: " + resp.Prepare)
	}
	return resp.Out, resp.Traced, nil
}

// crashed says why a child ended without answering: past the memory
// limit (the runtime's fatal errors, or the kernel's OOM killer), a
// panic, or something else, quoted.
func crashed(err error, stderr string, l limits.Limits) error {
	// The stack the runtime prints with its fatal error (its top and
	// bottom fifty frames) shows a recursion through tpl or include.
	recursing := strings.Count(stderr, "helm/v3/pkg/engine.tplFun") > 1 || strings.Count(stderr, "helm/v3/pkg/engine.includeFun") > 1
	memory := false
	for _, s := range []string{"goroutine stack exceeds", "out of memory", "cannot allocate", "pthread_create failed", "failed to reserve"} {
		memory = memory || strings.Contains(stderr, s)
	}
	switch {
	case memory && recursing:
		return &limitError{exceeded: l.RenderMemoryExceeded(), hint: "the templates recurse through tpl or include"}
	case memory:
		return &limitError{exceeded: l.RenderMemoryExceeded()}
	case strings.Contains(stderr, "panic: "):
		_, p, _ := strings.Cut(stderr, "panic: ")
		return fmt.Errorf("helm panicked: %s", firstLine(p))
	case strings.HasPrefix(stderr, "SIGSEGV") || strings.HasPrefix(stderr, "SIGBUS") || strings.HasPrefix(stderr, "unexpected fault"):
		// The runtime at times faults, rather than throws, when the
		// kernel refuses it memory (a collection under the data limit).
		return &limitError{exceeded: l.RenderMemoryExceeded(), hint: "the renderer crashed short of memory (" + firstLine(stderr) + ")"}
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			// Not killed by this process: by the kernel, out of memory.
			return &limitError{exceeded: l.RenderMemoryExceeded()}
		}
	}
	if s := firstLine(stderr); s != "" {
		return fmt.Errorf("the renderer failed (%w): %s", err, s)
	}
	return fmt.Errorf("the renderer failed: %w", err)
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}

// capped keeps the first max bytes written to it and drops the rest.
type capped struct {
	buf bytes.Buffer
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.buf.Len(); room > 0 {
		c.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (c *capped) String() string { return c.buf.String() }

// inProcess renders here when this binary cannot be started again (no
// /proc): bounded in time and by the context only, since a render that
// runs away keeps running, and keeps its memory, until it ends.
func inProcess(ctx context.Context, path string, opts Options, l limits.Limits) (out, traced map[string]string, err error) {
	type result struct {
		resp  response
		panic any
	}
	done := make(chan result, 1)
	go func() {
		var r result
		defer func() {
			r.panic = recover()
			done <- r
		}()
		r.resp = renderChild(path, opts, l)
	}()
	timer := time.NewTimer(l.RenderTimeout)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	case <-timer.C:
		return nil, nil, &limitError{exceeded: l.RenderTimeoutExceeded()}
	case r := <-done:
		switch {
		case r.panic != nil:
			return nil, nil, fmt.Errorf("helm panicked: %v", r.panic)
		case r.resp.Err != "":
			return nil, nil, engineError(r.resp.Err)
		case r.resp.Over != "":
			return nil, nil, &limitError{exceeded: l.RenderSizeExceeded(), template: r.resp.Over}
		case r.resp.Prepare != "":
			return nil, nil, errors.New("the chart changed while it was rendered: " + r.resp.Prepare)
		}
		return r.resp.Out, r.resp.Traced, nil
	}
}
