// Package webhook is kubeharden's admission webhook: an adapter that turns
// an AdmissionReview into objects for the one engine (package scan), judges
// the findings with the one policy (config modes, exemptions, suppression
// annotations) and hardens objects with the fixes of `kubeharden fix`. It
// never holds a second rule set: what the webhook denies is exactly what a
// scan of the same object reports.
package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/checks"
	"github.com/kubeharden/kubeharden/internal/config"
	"github.com/kubeharden/kubeharden/internal/fix"
	"github.com/kubeharden/kubeharden/internal/object"
	"github.com/kubeharden/kubeharden/internal/policy"
	"github.com/kubeharden/kubeharden/internal/scan"
	"github.com/kubeharden/kubeharden/internal/source"
)

// MaxBodyBytes bounds an AdmissionReview: an object and its old version,
// each at most the API server's 3 MiB request limit, plus the envelope. A
// larger body is refused before it is parsed.
const MaxBodyBytes = 7 << 20

// AlwaysExcluded are the namespaces the webhook never judges, whatever the
// configuration: blocking them can stop the cluster from healing itself
// (the outage of webhooks that judged kube-system).
var AlwaysExcluded = []string{"kube-system", "kube-node-lease"}

// FactsSource supplies the cluster's facts, and whether they are complete
// (the informers have synced); before they are, findings that depend on
// facts are not enforced.
type FactsSource interface {
	Facts() (facts check.Facts, synced bool)
}

// StaticFacts is a FactsSource that never changes: the object alone (nil
// Facts) or a fixed set, synced or not.
type StaticFacts struct {
	Set    check.Facts
	Synced bool
}

// Facts implements FactsSource.
func (s StaticFacts) Facts() (check.Facts, bool) { return s.Set, s.Synced }

// Options configure a Handler.
type Options struct {
	// Registry holds the checks; nil means the built-in ones.
	Registry *check.Registry
	// Policy is the configuration (with its admission section), the
	// exemptions and the clock; nil means the defaults.
	Policy *policy.Policy
	// Namespace is the webhook's own namespace, never judged.
	Namespace string
	// Facts are the cluster's; nil means objects are judged alone, as
	// synced.
	Facts FactsSource
	// Logger receives audit-mode findings and errors; nil discards.
	Logger *slog.Logger
	// Metrics counts requests and decisions; nil counts nowhere.
	Metrics *Metrics
}

// Handler serves /validate and /mutate. Make one with NewHandler; it is
// safe for concurrent use.
type Handler struct {
	engine  *scan.Engine
	adm     *config.Admission
	exclude map[string]bool
	// fixers are one per mutated check, in the order fixes apply.
	fixers  []checkFixer
	facts   FactsSource
	log     *slog.Logger
	metrics *Metrics
}

type checkFixer struct {
	id    string
	fixer *fix.Fixer
}

// NewHandler returns the handler of opts. It fails when the admission
// section asks to mutate with a check that has no fix the webhook can run
// (one that needs resource values or image digests).
func NewHandler(opts Options) (*Handler, error) {
	if opts.Registry == nil {
		opts.Registry = checks.Registry()
	}
	if opts.Policy == nil {
		opts.Policy = policy.New(nil, opts.Registry, time.Time{})
	}
	if opts.Facts == nil {
		opts.Facts = StaticFacts{Synced: true}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	cfg := opts.Policy.Config
	h := &Handler{
		engine:  scan.New(scan.Options{Registry: opts.Registry, Policy: opts.Policy}),
		adm:     &cfg.Admission,
		exclude: map[string]bool{},
		facts:   opts.Facts,
		log:     opts.Logger,
		metrics: opts.Metrics,
	}
	for _, ns := range append(append([]string{opts.Namespace}, AlwaysExcluded...), cfg.Admission.ExcludeNamespaces...) {
		if ns != "" {
			h.exclude[ns] = true
		}
	}
	var mutate []*check.ObjectCheck
	for _, id := range cfg.Admission.Mutate {
		c, ok := opts.Registry.Entry(id).(*check.ObjectCheck)
		switch {
		case !ok || c.Fix == nil:
			return nil, fmt.Errorf("admission.mutate: check %q has no fix", id)
		case c.Fix.Needs != check.NeedsNothing:
			return nil, fmt.Errorf("admission.mutate: the fix of %q needs %s, which the webhook cannot supply", id, c.Fix.Needs)
		case !opts.Policy.Enabled(id):
			return nil, fmt.Errorf("admission.mutate: check %q is disabled", id)
		}
		mutate = append(mutate, c)
	}
	// Fixes apply in the order kubeharden fix applies them, so that the
	// patch adds keys where the fix would write them.
	sort.SliceStable(mutate, func(i, j int) bool {
		if mutate[i].Fix.Order != mutate[j].Fix.Order {
			return mutate[i].Fix.Order < mutate[j].Fix.Order
		}
		return mutate[i].ID < mutate[j].ID
	})
	for _, c := range mutate {
		fx := fix.New(fix.Options{Policy: opts.Policy, Registry: opts.Registry, Checks: map[string]bool{c.ID: true}})
		h.fixers = append(h.fixers, checkFixer{id: c.ID, fixer: fx})
	}
	return h, nil
}

// ServeHTTP serves /validate and /mutate (by the path's last element). A
// request that is not an AdmissionReview gets a 4xx error, never a panic;
// the API server then applies the registration's failurePolicy.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	endpoint := "validate"
	if strings.HasSuffix(r.URL.Path, "/mutate") {
		endpoint = "mutate"
	}
	outcome := "error"
	defer func() {
		if p := recover(); p != nil {
			h.log.Error("admission review panicked", "endpoint", endpoint, "panic", p)
			http.Error(w, "internal error", http.StatusInternalServerError)
			outcome = "error"
		}
		h.metrics.request(endpoint, outcome, time.Since(start))
	}()
	if r.Method != http.MethodPost {
		http.Error(w, "an AdmissionReview must be POSTed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			http.Error(w, "AdmissionReview larger than "+strconv.Itoa(MaxBodyBytes)+" bytes", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "reading the request: "+err.Error(), http.StatusBadRequest)
		return
	}
	out, err := h.Review(endpoint == "mutate", body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	data, err := json.Marshal(out)
	if err != nil {
		http.Error(w, "encoding the response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	outcome = outcomeOf(out.Response)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(data)
}

func outcomeOf(r *admissionv1.AdmissionResponse) string {
	switch {
	case !r.Allowed:
		return "denied"
	case len(r.Patch) > 0:
		return "patched"
	case len(r.Warnings) > 0:
		return "warned"
	}
	return "allowed"
}

// Review answers one AdmissionReview (the request body): the validating
// verdict, or with mutate the JSON patch of the opted-in fixes. It fails
// only on input that is not an AdmissionReview v1 with a request.
func (h *Handler) Review(mutate bool, body []byte) (*admissionv1.AdmissionReview, error) {
	var in admissionv1.AdmissionReview
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&in); err != nil {
		return nil, fmt.Errorf("decoding the AdmissionReview: %w", err)
	}
	if in.APIVersion != admissionv1.SchemeGroupVersion.String() || in.Kind != "AdmissionReview" {
		return nil, fmt.Errorf("not an AdmissionReview of %s: apiVersion %q, kind %q", admissionv1.SchemeGroupVersion, in.APIVersion, in.Kind)
	}
	req := in.Request
	if req == nil || req.UID == "" {
		return nil, errors.New("the AdmissionReview has no request uid")
	}
	resp, err := h.respond(mutate, req)
	if err != nil {
		return nil, err
	}
	resp.UID = req.UID
	return &admissionv1.AdmissionReview{TypeMeta: in.TypeMeta, Response: resp}, nil
}

// respond judges one request.
func (h *Handler) respond(mutate bool, req *admissionv1.AdmissionRequest) (*admissionv1.AdmissionResponse, error) {
	allow := &admissionv1.AdmissionResponse{Allowed: true}
	switch {
	case req.Operation != admissionv1.Create && req.Operation != admissionv1.Update:
		// DELETE and CONNECT carry nothing to harden.
		return allow, nil
	case req.SubResource == "scale" || req.SubResource == "status":
		// Scaling or a controller's status report never changes what runs.
		return allow, nil
	case h.exclude[req.Namespace]:
		return allow, nil
	case mutate && (req.Operation != admissionv1.Create || len(h.fixers) == 0):
		// Mutating an UPDATE would change the pod template of a legacy
		// workload on every scale or relabel, and restart it.
		return allow, nil
	}
	o, err := h.object("object", req.Object.Raw, req)
	if err != nil || o == nil {
		return allow, err
	}
	facts, synced := h.facts.Facts()
	res := h.engine.Object(o, facts)
	if mutate {
		return h.mutate(o, res, req)
	}
	var old map[string]int
	if req.Operation == admissionv1.Update && len(req.OldObject.Raw) > 0 {
		oo, err := h.object("oldObject", req.OldObject.Raw, req)
		if err != nil {
			return nil, err
		}
		if oo != nil {
			old = map[string]int{}
			for _, f := range h.engine.Object(oo, facts).Findings {
				old[findingKey(&f)]++
			}
		}
	}
	return h.validate(res, old, synced, req), nil
}

// object parses a request's object (or old object) as a document of the
// manifests that kubeharden scans; nil when there is none.
func (h *Handler) object(field string, raw []byte, req *admissionv1.AdmissionRequest) (*object.Object, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}
	if !json.Valid(raw) {
		return nil, fmt.Errorf("request.%s is not JSON", field)
	}
	file := req.Kind.Kind + "/" + req.Name
	if req.Namespace != "" {
		file = req.Kind.Kind + "/" + req.Namespace + "/" + req.Name
	}
	objs, errs, _ := source.Parse(source.Document{File: file, Data: raw})
	if len(objs) != 1 {
		msg := "not a Kubernetes object"
		if len(errs) > 0 {
			msg = errs[0].Message
		}
		return nil, fmt.Errorf("request.%s: %s", field, msg)
	}
	o := objs[0]
	if o.Namespace == "" {
		// A CREATE may leave the namespace to the request's URL.
		o.Namespace = req.Namespace
	}
	return o, nil
}

// findingKey identifies a finding across an object's versions: its check
// and field, not its message (which may name a changed value).
func findingKey(f *check.Finding) string { return f.Check + "\x00" + f.Path }

// decision is what the webhook does with one finding.
type decision struct {
	f    check.Finding
	mode string
	// why says why an enforced finding was only warned about.
	why string
}

// validate decides the findings of res: enforced ones deny (unless the
// UPDATE did not introduce them, or they depend on facts not yet synced),
// warned ones become warnings, audited ones are logged and counted.
func (h *Handler) validate(res scan.ObjectResult, old map[string]int, synced bool, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	deferred := map[string]int{}
	for _, f := range res.Deferred {
		deferred[findingKey(&f)]++
	}
	dryRun := req.DryRun != nil && *req.DryRun
	var ds []decision
	for _, f := range res.Findings {
		d := decision{f: f, mode: h.adm.ModeOf(f.Check, f.Severity)}
		k := findingKey(&f)
		switch {
		case d.mode == config.Off:
			continue
		case d.mode != config.Enforce:
		case old[k] > 0:
			old[k]--
			d.mode, d.why = config.Warn, "present before this update"
		case !synced && deferred[k] > 0:
			deferred[k]--
			d.mode, d.why = config.Warn, "not enforced until the cluster's objects are known"
		}
		ds = append(ds, d)
	}
	resp := &admissionv1.AdmissionResponse{Allowed: true}
	var reasons []string
	for _, d := range ds {
		if !dryRun {
			h.metrics.decision(d.f.Check, d.mode)
		}
		switch d.mode {
		case config.Enforce:
			reasons = append(reasons, describe(&d.f))
		case config.Warn:
			w := describe(&d.f)
			if d.why != "" {
				w += " [" + d.why + "]"
			}
			resp.Warnings = append(resp.Warnings, w)
		case config.Audit:
			if !dryRun {
				h.log.Info("admission finding", "mode", "audit", "check", d.f.Check, "severity", d.f.Severity.String(),
					"kind", req.Kind.Kind, "namespace", req.Namespace, "name", req.Name, "operation", string(req.Operation),
					"user", req.UserInfo.Username, "path", d.f.Path, "message", d.f.Message)
			}
		}
	}
	if len(reasons) > 0 {
		what := req.Kind.Kind + " " + strconv.Quote(req.Name)
		if req.Namespace != "" {
			what += " in namespace " + strconv.Quote(req.Namespace)
		}
		resp.Allowed = false
		resp.Result = &metav1.Status{
			Status:  metav1.StatusFailure,
			Code:    http.StatusForbidden,
			Reason:  metav1.StatusReasonForbidden,
			Message: "kubeharden denied " + what + ":\n- " + strings.Join(reasons, "\n- "),
		}
	}
	return resp
}

// describe is one reason or warning: "[check] message (at field path)".
func describe(f *check.Finding) string {
	s := "[" + f.Check + "] " + f.Message
	if f.Path != "" {
		s += " (at " + f.Path + ")"
	}
	return s
}

// mutate applies the opted-in fixes for the findings of res and returns
// the JSON patch. Suppressed and exempted findings are not fixed (the
// fixes only see the findings that count), and a fix that does not clear
// its finding is undone by the fix engine, so it is never in the patch.
func (h *Handler) mutate(o *object.Object, res scan.ObjectResult, req *admissionv1.AdmissionRequest) (*admissionv1.AdmissionResponse, error) {
	allow := &admissionv1.AdmissionResponse{Allowed: true}
	found := map[string]bool{}
	for _, f := range res.Findings {
		found[f.Check] = true
	}
	// An object that suppresses a check, or is exempt from it, is never
	// mutated for it: the fixes judge the object as written, and would
	// not see a namespace the request's URL gives.
	for _, f := range res.Suppressed {
		found[f.Check] = false
	}
	var before any
	var applied []fix.Applied
	for _, cf := range h.fixers {
		if !found[cf.id] {
			continue
		}
		if before == nil {
			if err := o.Node.Decode(&before); err != nil {
				return nil, fmt.Errorf("request.object: %w", err)
			}
		}
		a, _ := cf.fixer.Object(o)
		applied = append(applied, a...)
		if len(a) > 0 {
			if fresh, ok := object.New(o.Node, o.File, o.LineOffset); ok {
				fresh.Namespace = o.Namespace
				o = fresh
			}
		}
	}
	if len(applied) == 0 {
		return allow, nil
	}
	var after any
	if err := o.Node.Decode(&after); err != nil {
		return nil, fmt.Errorf("the fixed object: %w", err)
	}
	ops := diff(nil, "", before, after)
	if len(ops) == 0 {
		return allow, nil
	}
	patch, err := json.Marshal(ops)
	if err != nil {
		return nil, fmt.Errorf("encoding the patch: %w", err)
	}
	if req.DryRun == nil || !*req.DryRun {
		counted := map[string]bool{}
		for _, a := range applied {
			if !counted[a.Check] {
				counted[a.Check] = true
				h.metrics.decision(a.Check, "mutate")
			}
		}
	}
	pt := admissionv1.PatchTypeJSONPatch
	allow.Patch, allow.PatchType = patch, &pt
	return allow, nil
}
