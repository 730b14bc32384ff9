// Package openreports turns a scan result into policy report objects, the
// Kubernetes-native way for scanners to publish what they found so that
// dashboards (Policy Reporter, for instance) and kubectl can read it:
// openreports.io/v1alpha1 Report and ClusterReport, or, for clusters that
// still run the older CRDs, wgpolicyk8s.io/v1alpha2 PolicyReport and
// ClusterPolicyReport. Both APIs have the same results and summary; only the
// kinds and two report-level fields (source, configuration) differ.
//
// The reports are made like this:
//
//   - One namespaced report per namespace, holding every finding on an object
//     of that namespace; one cluster report holding the findings on
//     cluster-scoped objects (a Namespace, a ClusterRoleBinding), the findings
//     outside objects (the cluster checks, such as cluster-version-supported,
//     and those about the config file) and the input errors. Reports are per
//     namespace, not per object, so they set no scope: every result names its
//     object in resources instead.
//   - Every report is named Name ("kubeharden", for both kinds) and labelled
//     app.kubernetes.io/managed-by=kubeharden, so that a later run finds and
//     updates it (Write) instead of adding another.
//   - A finding is a result "fail", scored; a suppressed finding is "skip",
//     not scored, with the suppression's kind, reason and source in its
//     properties; an input error is "error" (policy "coverage-gap" for a kind
//     the credentials may not list, else "input-error") in the cluster
//     report, because a report that silently lacks a kind reads as clean.
//     The result's policy is the check ID, its source "kubeharden", its
//     severity the finding's effective severity, its message the finding's;
//     the field path, the origin and the file location go in properties.
//   - An object of a namespaced kind that sets no namespace (a manifest, in
//     `kubeharden scan`) goes to the report of Options.Namespace (scan -n);
//     when that is empty too, to a report that sets no namespace, which
//     `kubectl apply -n NS` places where it would place the objects.
//   - Results are sorted: errors, then failures, then skips, each by severity
//     (most severe first), then by object, check, path and message. Every
//     timestamp is Options.Now (one time per run), or none when it is zero,
//     so that the same result always renders to the same bytes.
//
// Size: etcd refuses objects over about 1.5 MiB. A report keeps the results
// that fit in Options.MaxBytes (DefaultMaxBytes, 1 MiB of JSON), in the
// order above, so the most severe survive; its summary still counts every
// result, it carries the annotation TruncatedAnnotation saying how many were
// kept, and an openreports.io report sets configuration.limits.maxResults
// to that number, the API's own way to say a report holds fewer results
// than were found. Long messages and property values are cut at
// maxStringBytes. Reports are not split into several objects: the names
// would then depend on the number of findings, and a shrinking report would
// leave stale parts behind.
package openreports

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"sigs.k8s.io/yaml"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/object"
	"github.com/kubeharden/kubeharden/internal/scan"
	"github.com/kubeharden/kubeharden/internal/source"
)

// The report APIs, as --reports-api names them.
const (
	// OpenReports is the openreports.io API: Report and ClusterReport.
	OpenReports = "openreports.io/v1alpha1"
	// PolicyReports is the Kubernetes policy working group's older API:
	// PolicyReport and ClusterPolicyReport.
	PolicyReports = "wgpolicyk8s.io/v1alpha2"
)

// APIs lists the report APIs, in the order Write prefers them when it
// chooses from discovery.
func APIs() []string { return []string{OpenReports, PolicyReports} }

const (
	// Name is the name of every report kubeharden writes, namespaced or
	// cluster-wide.
	Name = "kubeharden"
	// Source is the source of every result.
	Source = "kubeharden"
	// ManagedByLabel is set to ManagedBy on every report.
	ManagedByLabel = "app.kubernetes.io/managed-by"
	// ManagedBy is the value of ManagedByLabel.
	ManagedBy = "kubeharden"
	// TruncatedAnnotation is set on a report that holds fewer results than
	// it counts: "kept N of M results".
	TruncatedAnnotation = "kubeharden.io/truncated"
	// DefaultMaxBytes bounds the JSON size of one report's results: about
	// two thousand results, and well under etcd's 1.5 MiB object limit with
	// the metadata and managed fields the API server adds.
	DefaultMaxBytes = 1 << 20
	// maxStringBytes cuts a message or property value: a container or
	// image name comes from the input, which may be hostile.
	maxStringBytes = 4096
)

// Results.
const (
	Fail  = "fail"
	Skip  = "skip"
	Error = "error"
	Pass  = "pass"
	Warn  = "warn"
)

// Options tune Build.
type Options struct {
	// Namespace is where objects of a namespaced kind that set no
	// namespace are placed (scan -n); "" leaves their report's namespace
	// unset.
	Namespace string
	// Now stamps every result; the zero time writes no timestamps.
	Now time.Time
	// MaxBytes bounds the JSON size of a report's results;
	// DefaultMaxBytes when 0.
	MaxBytes int
}

// Report is one report, in neither API yet: Render and Write give it its
// kind.
type Report struct {
	// Cluster is true for the cluster-scoped report.
	Cluster bool
	// Namespace is the namespace of a namespaced report; "" for the
	// cluster report, or for objects that set no namespace when
	// Options.Namespace was empty too.
	Namespace string
	Summary   Summary
	Results   []Result
	// Dropped is the number of results left out to keep the report under
	// Options.MaxBytes; Summary counts them.
	Dropped int
}

// Summary counts a report's results by outcome.
type Summary struct {
	Pass  int `json:"pass"`
	Fail  int `json:"fail"`
	Warn  int `json:"warn"`
	Error int `json:"error"`
	Skip  int `json:"skip"`
}

// Result is one result, with the JSON names of both APIs.
type Result struct {
	Source    string            `json:"source"`
	Policy    string            `json:"policy"`
	Severity  string            `json:"severity,omitempty"`
	Timestamp *Timestamp        `json:"timestamp,omitempty"`
	Result    string            `json:"result"`
	Scored    bool              `json:"scored,omitempty"`
	Resources []ObjectReference `json:"resources,omitempty"`
	Message   string            `json:"message,omitempty"`
	// Properties hold path (the field path), origin (the chart or
	// resource a rendered object came from), location (file:line:col of a
	// manifest) and, for a skip, suppressionKind, suppressionReason and
	// suppressionSource.
	Properties map[string]string `json:"properties,omitempty"`

	sev check.Severity
}

// Timestamp is a protobuf timestamp, as both APIs define it.
type Timestamp struct {
	Seconds int64 `json:"seconds"`
	Nanos   int32 `json:"nanos"`
}

// ObjectReference names the object a result is about.
type ObjectReference struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind,omitempty"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name,omitempty"`
}

// Build returns the reports of res: the cluster report first (always, even
// empty: a run that found nothing says so), then one report per namespace
// that has results, by namespace.
func Build(res *scan.Result, opts Options) []*Report {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	var ts *Timestamp
	if !opts.Now.IsZero() {
		ts = &Timestamp{Seconds: opts.Now.Unix()}
	}
	cluster := &Report{Cluster: true}
	byNS := map[string]*Report{}
	add := func(f *check.Finding, outcome string) {
		r := result(f, outcome, opts.Namespace, ts)
		rep := cluster
		if f.Object != nil && !clusterScoped(f.Object) {
			ns := r.Resources[0].Namespace
			if rep = byNS[ns]; rep == nil {
				rep = &Report{Namespace: ns}
				byNS[ns] = rep
			}
		}
		rep.Results = append(rep.Results, r)
	}
	for i := range res.Findings {
		add(&res.Findings[i], Fail)
	}
	for i := range res.Suppressed {
		add(&res.Suppressed[i], Skip)
	}
	for _, e := range res.Errors {
		cluster.Results = append(cluster.Results, errorResult(e, ts))
	}
	reports := []*Report{cluster}
	for _, ns := range slices.Sorted(maps.Keys(byNS)) {
		reports = append(reports, byNS[ns])
	}
	for _, rep := range reports {
		rep.finish(opts.MaxBytes)
	}
	return reports
}

// clusterScoped tells a cluster-scoped object from a namespaced one that
// sets no namespace (a manifest's), by its kind as the engine knows it.
func clusterScoped(o *check.ObjectRef) bool {
	return o.Namespace == "" && !(&object.Object{Kind: o.Kind}).Namespaced()
}

func result(f *check.Finding, outcome, defaultNS string, ts *Timestamp) Result {
	r := Result{
		Source:    Source,
		Policy:    f.Check,
		Timestamp: ts,
		Result:    outcome,
		Scored:    outcome == Fail,
		Message:   cut(f.Message),
		sev:       f.Severity,
	}
	if f.Severity >= check.Info && f.Severity <= check.Critical {
		r.Severity = f.Severity.String()
	}
	props := map[string]string{}
	if f.Path != "" {
		props["path"] = cut(f.Path)
	}
	if o := f.Object; o != nil {
		ref := ObjectReference{APIVersion: o.APIVersion, Kind: o.Kind, Namespace: o.Namespace, Name: o.Name}
		if ref.Namespace == "" && !clusterScoped(o) {
			ref.Namespace = defaultNS
		}
		r.Resources = []ObjectReference{ref}
		if o.Origin != "" {
			props["origin"] = cut(o.Origin)
		}
	}
	if loc := location(f); loc != "" {
		props["location"] = cut(loc)
	}
	if s := f.Suppression(); s != nil {
		props["suppressionKind"] = cut(s.Kind)
		props["suppressionReason"] = cut(s.Reason)
		if s.Source != "" {
			props["suppressionSource"] = cut(s.Source)
		}
	}
	if len(props) > 0 {
		r.Properties = props
	}
	return r
}

// location is file:line:col of a finding in a file. A live object has no
// file: the cluster source names its document kind/namespace/name, which
// the result's resource already says, and its lines are those of the API
// server's JSON, which nobody edits.
func location(f *check.Finding) string {
	l := f.Location
	if l.File == "" {
		return ""
	}
	if o := f.Object; o != nil && (l.File == o.Kind+"/"+o.Namespace+"/"+o.Name || l.File == o.Kind+"/"+o.Name) {
		return ""
	}
	s := l.File
	if l.Line > 0 {
		s += ":" + strconv.Itoa(l.Line)
		if l.Column > 0 {
			s += ":" + strconv.Itoa(l.Column)
		}
	}
	return s
}

func errorResult(e source.Error, ts *Timestamp) Result {
	policy := "input-error"
	if e.Gap() {
		policy = "coverage-gap"
	}
	return Result{Source: Source, Policy: policy, Timestamp: ts, Result: Error, Message: cut(e.Error())}
}

// cut shortens s to maxStringBytes, on a rune boundary, marking the cut.
func cut(s string) string {
	if len(s) <= maxStringBytes {
		return s
	}
	const mark = "… (cut)"
	n := maxStringBytes - len(mark)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + mark
}

// propertyKeys are every property a result may have.
var propertyKeys = [...]string{"location", "origin", "suppressionKind", "suppressionReason", "suppressionSource"}

var outcomeOrder = map[string]int{Error: 0, Fail: 1, Warn: 2, Skip: 3, Pass: 4}

func (r *Result) ref() ObjectReference {
	if len(r.Resources) == 0 {
		return ObjectReference{}
	}
	return r.Resources[0]
}

// finish sorts, counts and bounds the report's results.
func (rep *Report) finish(maxBytes int) {
	slices.SortStableFunc(rep.Results, func(a, b Result) int {
		if c := outcomeOrder[a.Result] - outcomeOrder[b.Result]; c != 0 {
			return c
		}
		if c := int(b.sev) - int(a.sev); c != 0 {
			return c
		}
		ra, rb := a.ref(), b.ref()
		for _, c := range [...][2]string{
			{ra.Kind, rb.Kind}, {ra.Namespace, rb.Namespace}, {ra.Name, rb.Name}, {ra.APIVersion, rb.APIVersion},
			{a.Policy, b.Policy}, {a.Properties["path"], b.Properties["path"]}, {a.Message, b.Message},
		} {
			if c := strings.Compare(c[0], c[1]); c != 0 {
				return c
			}
		}
		// Results equal so far differ, if at all, in their properties.
		for _, k := range propertyKeys {
			if c := strings.Compare(a.Properties[k], b.Properties[k]); c != 0 {
				return c
			}
		}
		return 0
	})
	rep.Summary = Summary{}
	for _, r := range rep.Results {
		switch r.Result {
		case Pass:
			rep.Summary.Pass++
		case Fail:
			rep.Summary.Fail++
		case Warn:
			rep.Summary.Warn++
		case Error:
			rep.Summary.Error++
		case Skip:
			rep.Summary.Skip++
		}
	}
	size := 0
	for i := range rep.Results {
		b, err := json.Marshal(&rep.Results[i])
		if err != nil {
			panic(err) // strings, numbers and maps of strings
		}
		if size += len(b) + 1; size > maxBytes {
			rep.Dropped = len(rep.Results) - i
			rep.Results = slices.Clip(rep.Results[:i])
			return
		}
	}
}

// document is a report in one API, as the API server reads it.
type document struct {
	APIVersion    string         `json:"apiVersion"`
	Kind          string         `json:"kind"`
	Metadata      objectMeta     `json:"metadata"`
	Source        string         `json:"source,omitempty"`
	Configuration *configuration `json:"configuration,omitempty"`
	Summary       Summary        `json:"summary"`
	Results       []Result       `json:"results,omitempty"`
}

type objectMeta struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace,omitempty"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type configuration struct {
	Limits limits `json:"limits"`
}

type limits struct {
	MaxResults int `json:"maxResults"`
}

// apiInfo is what differs between the report APIs.
type apiInfo struct {
	group, version            string
	kind, clusterKind         string
	resource, clusterResource string
	// reportFields: the report-level source and configuration, which only
	// openreports.io has.
	reportFields bool
}

var apis = []apiInfo{
	{"openreports.io", "v1alpha1", "Report", "ClusterReport", "reports", "clusterreports", true},
	{"wgpolicyk8s.io", "v1alpha2", "PolicyReport", "ClusterPolicyReport", "policyreports", "clusterpolicyreports", false},
}

// CheckAPI returns an error when name is neither "" nor one of APIs: the
// CLI checks --reports-api with it before the audit, as a usage error.
func CheckAPI(name string) error {
	if name == "" {
		return nil
	}
	_, err := lookupAPI(name)
	return err
}

func lookupAPI(name string) (apiInfo, error) {
	for _, a := range apis {
		if a.group+"/"+a.version == name {
			return a, nil
		}
	}
	return apiInfo{}, fmt.Errorf("unknown report API %q (want one of %s)", name, strings.Join(APIs(), ", "))
}

func (rep *Report) document(a apiInfo) *document {
	d := &document{
		APIVersion: a.group + "/" + a.version,
		Kind:       a.kind,
		Metadata: objectMeta{
			Name:      Name,
			Namespace: rep.Namespace,
			Labels:    map[string]string{ManagedByLabel: ManagedBy},
		},
		Summary: rep.Summary,
		Results: rep.Results,
	}
	if rep.Cluster {
		d.Kind = a.clusterKind
		d.Metadata.Namespace = ""
	}
	if a.reportFields {
		d.Source = Source
	}
	if rep.Dropped > 0 {
		kept := len(rep.Results)
		d.Metadata.Annotations = map[string]string{
			TruncatedAnnotation: fmt.Sprintf("kept %d of %d results", kept, kept+rep.Dropped),
		}
		if a.reportFields {
			d.Configuration = &configuration{Limits: limits{MaxResults: kept}}
		}
	}
	return d
}

// Render writes reports to w in the API named by api (OpenReports or
// PolicyReports) as a YAML stream, each document led by "---", for
// `kubectl apply -f`.
func Render(w io.Writer, reports []*Report, api string) error {
	a, err := lookupAPI(api)
	if err != nil {
		return err
	}
	for _, rep := range reports {
		b, err := yaml.Marshal(rep.document(a))
		if err != nil {
			return fmt.Errorf("encoding the report of %s: %w", rep.where(), err)
		}
		if _, err := io.WriteString(w, "---\n"); err != nil {
			return err
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// RenderResult is Render of Build(res, opts) in the openreports.io API:
// the `-o openreports` format.
func RenderResult(w io.Writer, res *scan.Result, opts Options) error {
	return Render(w, Build(res, opts), OpenReports)
}

func (rep *Report) where() string {
	switch {
	case rep.Cluster:
		return "the cluster"
	case rep.Namespace == "":
		return "objects without a namespace"
	}
	return "namespace " + rep.Namespace
}
