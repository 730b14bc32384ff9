// Package admissionpolicy writes the checks that need no other object as
// Kubernetes-native admission policies: a ValidatingAdmissionPolicy and its
// binding per check, in CEL that means what the check's Run means, and
// MutatingAdmissionPolicies for the fixes that can be written as an apply
// configuration. The API server then enforces them with no webhook to run.
//
// The policies honour what the scanner honours: the check parameters (baked
// into the expressions), disabled checks, the
// ignore.kubeharden.io/<check-id> annotation with a reason, and the
// configuration's exemptions by kind, namespace and name. An UPDATE is
// denied only for containers (or the pod) that were fine before, so a
// legacy workload can still be scaled and relabelled while it is fixed.
package admissionpolicy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/config"
	"github.com/kubeharden/kubeharden/internal/policy"
)

// Prefix starts the name of every generated object: kubeharden-<check-id>.
const Prefix = "kubeharden-"

// ManagedBy labels every generated object.
const ManagedBy = "kubeharden"

// ExcludedNamespaces are never matched: the cluster's own, which a
// mistaken policy must not lock.
var ExcludedNamespaces = []string{"kube-system", "kube-node-lease"}

// Options select what to generate.
type Options struct {
	// Registry holds the checks; Policy the configuration and parameters.
	Registry *check.Registry
	Policy   *policy.Policy
	// Only, when set, generates just these checks; Skip leaves some out.
	Only, Skip []string
	// Actions gives the validationActions by severity; see ParseActions.
	Actions Actions
	// Mutate also writes MutatingAdmissionPolicies for the fixes that can
	// be written as apply configurations.
	Mutate bool
}

// Coverage says whether a check has a policy, and why not.
type Coverage struct {
	ID       string
	Severity check.Severity
	Covered  bool
	// Mutated is true when --mutate writes a MutatingAdmissionPolicy.
	Mutated bool
	Reason  string
}

// CoverageOf lists every check of reg: covered, or the reason it is not.
func CoverageOf(reg *check.Registry) []Coverage {
	var out []Coverage
	for _, e := range reg.Entries() {
		m := e.Metadata()
		c := Coverage{ID: m.ID, Severity: m.Severity}
		switch {
		case m.Target != check.Objects:
			c.Reason = "reads " + m.Target.String() + "s, not objects at admission"
		case rules[m.ID].want != nil:
			c.Covered = true
			_, c.Mutated = mutations[m.ID]
		case notCovered[m.ID] != "":
			c.Reason = notCovered[m.ID]
		default:
			c.Reason = "not expressed in CEL yet"
		}
		out = append(out, c)
	}
	return out
}

// Output is what Generate writes.
type Output struct {
	Validating []admissionv1.ValidatingAdmissionPolicy
	Bindings   []admissionv1.ValidatingAdmissionPolicyBinding
	Mutating   []admissionv1.MutatingAdmissionPolicy
	MBindings  []admissionv1.MutatingAdmissionPolicyBinding
	// NotCovered are the selected checks without a policy.
	NotCovered []Coverage
	// Notes are configuration the policies cannot honour (path
	// exemptions, glob classes).
	Notes []string
}

// Generate builds the policies of the enabled, selected checks.
func Generate(opts Options) (*Output, error) {
	pol := opts.Policy
	if pol == nil {
		pol = policy.New(nil, opts.Registry, time.Time{})
	}
	actions := opts.Actions
	if actions == nil {
		actions = DefaultActions()
	}
	for _, id := range append(slices.Clone(opts.Only), opts.Skip...) {
		if opts.Registry.Get(id) == nil {
			return nil, fmt.Errorf("unknown check %q", id)
		}
	}
	params := pol.Params()
	out := &Output{}
	for _, c := range CoverageOf(opts.Registry) {
		id := c.ID
		if !pol.Enabled(id) || (len(opts.Only) > 0 && !slices.Contains(opts.Only, id)) || slices.Contains(opts.Skip, id) {
			continue
		}
		if !c.Covered {
			if opts.Registry.Get(id).Target == check.Objects {
				out.NotCovered = append(out.NotCovered, c)
			}
			continue
		}
		if cov := rules[id].covered; cov != nil {
			if ok, why := cov(params); !ok {
				c.Covered, c.Reason = false, why
				out.NotCovered = append(out.NotCovered, c)
				continue
			}
		}
		sev := pol.Severity(id, c.Severity)
		conds, notes := matchConditions(pol, id)
		for _, n := range notes {
			if !slices.Contains(out.Notes, n) {
				out.Notes = append(out.Notes, n)
			}
		}
		vap := validating(id, sev, rules[id], params, conds)
		out.Validating = append(out.Validating, vap)
		out.Bindings = append(out.Bindings, binding(id, actions.For(sev)))
		if mu, ok := mutations[id]; ok && opts.Mutate {
			out.Mutating = append(out.Mutating, mutating(id, mu, params, pol, conds))
			out.MBindings = append(out.MBindings, mutatingBinding(id))
		}
	}
	return out, nil
}

// Actions map severities to validationActions.
type Actions map[check.Severity][]admissionv1.ValidationAction

// For returns the actions of severity s.
func (a Actions) For(s check.Severity) []admissionv1.ValidationAction { return a[s] }

// DefaultActions deny critical and high findings and warn of the others:
// a policy set applied as is then stops the dangerous objects without
// refusing every workload that lacks, say, a high GID.
func DefaultActions() Actions {
	a := Actions{}
	for s := check.Info; s <= check.Critical; s++ {
		if s >= check.High {
			a[s] = []admissionv1.ValidationAction{admissionv1.Deny}
		} else {
			a[s] = []admissionv1.ValidationAction{admissionv1.Warn}
		}
	}
	return a
}

// ParseActions reads --action values: "Deny" (or Warn, Audit, or two
// joined with "+", as Deny+Audit) for every severity, or
// "SEVERITY=ACTIONS" for one, applied in order over the defaults.
func ParseActions(values []string) (Actions, error) {
	a := DefaultActions()
	for _, v := range values {
		sevs := check.Severities()
		acts := v
		if s, rest, ok := strings.Cut(v, "="); ok {
			sev, err := check.ParseSeverity(s)
			if err != nil {
				return nil, err
			}
			sevs, acts = []string{sev.String()}, rest
		}
		var list []admissionv1.ValidationAction
		for _, x := range strings.Split(acts, "+") {
			act, ok := parseAction(x)
			if !ok {
				return nil, fmt.Errorf("unknown action %q (want Deny, Warn or Audit)", x)
			}
			if !slices.Contains(list, act) {
				list = append(list, act)
			}
		}
		if slices.Contains(list, admissionv1.Deny) && slices.Contains(list, admissionv1.Warn) {
			return nil, fmt.Errorf("action %q: Deny and Warn cannot be combined", v)
		}
		for _, s := range sevs {
			sev, _ := check.ParseSeverity(s)
			a[sev] = list
		}
	}
	return a, nil
}

func parseAction(s string) (admissionv1.ValidationAction, bool) {
	for _, a := range []admissionv1.ValidationAction{admissionv1.Deny, admissionv1.Warn, admissionv1.Audit} {
		if strings.EqualFold(strings.TrimSpace(s), string(a)) {
			return a, true
		}
	}
	return "", false
}

// podResources are the kinds that carry a pod spec, by API group.
var podResources = []admissionv1.NamedRuleWithOperations{
	ruleFor("", "pods", "pods/ephemeralcontainers", "podtemplates", "replicationcontrollers"),
	ruleFor("apps", "deployments", "statefulsets", "daemonsets", "replicasets"),
	ruleFor("batch", "jobs", "cronjobs"),
}

func ruleFor(group string, resources ...string) admissionv1.NamedRuleWithOperations {
	scope := admissionv1.NamespacedScope
	return admissionv1.NamedRuleWithOperations{RuleWithOperations: admissionv1.RuleWithOperations{
		Operations: []admissionv1.OperationType{admissionv1.Create, admissionv1.Update},
		Rule: admissionv1.Rule{
			APIGroups: []string{group}, APIVersions: []string{"v1"}, Resources: resources, Scope: &scope,
		},
	}}
}

// specExpr is the pod spec of root (object or oldObject), whatever the kind.
func specExpr(root string) string {
	return "request.kind.kind == 'Pod' ? " + root + ".spec" +
		" : request.kind.kind == 'CronJob' ? " + root + ".spec.jobTemplate.spec.template.spec" +
		" : request.kind.kind == 'PodTemplate' ? " + root + ".template.spec" +
		" : " + root + ".spec.template.spec"
}

// metaExpr is the pod metadata of root: the Pod's, or the template's.
func metaExpr(root string) string {
	return "request.kind.kind == 'Pod' ? " + root + ".metadata" +
		" : request.kind.kind == 'CronJob' ? " + root + ".spec.jobTemplate.spec.template.?metadata.orValue({})" +
		" : request.kind.kind == 'PodTemplate' ? " + root + ".template.?metadata.orValue({})" +
		" : " + root + ".spec.template.?metadata.orValue({})"
}

// violations is the CEL list of what has a finding in the pod spec
// variable spec (with metadata meta): container descriptions, and "pod".
func violations(r rule, p *check.Params, spec, meta string) string {
	inst := func(s string) string {
		return strings.NewReplacer("$spec", spec, "$meta", meta).Replace(s)
	}
	var parts []string
	if r.container != nil {
		bad := inst(r.container(p))
		lists := []struct{ field, what string }{
			{"initContainers", "init container"},
			{"containers", "container"},
		}
		if r.ephemeral {
			lists = append(lists, struct{ field, what string }{"ephemeralContainers", "ephemeral container"})
		}
		for _, l := range lists {
			parts = append(parts, spec+".?"+l.field+".orValue([]).filter(c, "+bad+").map(c, '"+l.what+" \"' + c.name + '\"')")
		}
	}
	if r.pod != nil {
		parts = append(parts, "("+inst(r.pod(p))+" ? ['pod'] : [])")
	}
	return strings.Join(parts, " + ")
}

func labels() map[string]string {
	return map[string]string{"app.kubernetes.io/managed-by": ManagedBy}
}

func validating(id string, sev check.Severity, r rule, p *check.Params, conds []admissionv1.MatchCondition) admissionv1.ValidatingAdmissionPolicy {
	fail := admissionv1.Fail
	linux := func(spec string) string { return spec + ".?os.?name.orValue('') != 'windows'" }
	vars := []admissionv1.Variable{
		{Name: "spec", Expression: specExpr("object")},
		{Name: "meta", Expression: metaExpr("object")},
		{Name: "oldSpec", Expression: specExpr("oldObject")},
		{Name: "oldMeta", Expression: metaExpr("oldObject")},
		{Name: "violations", Expression: violations(r, p, "variables.spec", "variables.meta")},
		// An UPDATE is judged only on what it introduces.
		{Name: "oldViolations", Expression: "request.operation == 'UPDATE' && oldObject != null ? " +
			violations(r, p, "variables.oldSpec", "variables.oldMeta") + " : []"},
		{Name: "introduced", Expression: "variables.violations.filter(v, !(v in variables.oldViolations))"},
	}
	expr := "size(variables.introduced) == 0"
	if r.linux {
		// A Windows pod is exempt: the API server forbids the Linux fields.
		expr = "!(" + linux("variables.spec") + ") || " + expr
	}
	return admissionv1.ValidatingAdmissionPolicy{
		TypeMeta: metav1.TypeMeta{APIVersion: admissionv1.SchemeGroupVersion.String(), Kind: "ValidatingAdmissionPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: Prefix + id, Labels: labels(), Annotations: map[string]string{
			"kubeharden.io/check": id, "kubeharden.io/severity": sev.String(),
		}},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy:    &fail,
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: podResources},
			MatchConditions:  conds,
			Variables:        vars,
			Validations: []admissionv1.Validation{{
				Expression: expr,
				MessageExpression: "variables.introduced.join(', ') + ' " + celQuote(r.want(p)) +
					" (kubeharden " + id + ")'",
				Reason: ptr(metav1.StatusReasonForbidden),
			}},
		},
	}
}

func ptr[T any](v T) *T { return &v }

// celQuote escapes s for a single-quoted CEL string.
func celQuote(s string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s)
}

func excludeNamespaces() *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
		Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpNotIn, Values: ExcludedNamespaces,
	}}}
}

func binding(id string, actions []admissionv1.ValidationAction) admissionv1.ValidatingAdmissionPolicyBinding {
	return admissionv1.ValidatingAdmissionPolicyBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: admissionv1.SchemeGroupVersion.String(), Kind: "ValidatingAdmissionPolicyBinding"},
		ObjectMeta: metav1.ObjectMeta{Name: Prefix + id, Labels: labels()},
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        Prefix + id,
			ValidationActions: actions,
			MatchResources:    &admissionv1.MatchResources{NamespaceSelector: excludeNamespaces()},
		},
	}
}

// matchConditions keep a policy off objects the scanner would not report:
// a suppression annotation with a reason, and the configuration's live
// exemptions of the check. It returns notes on exemptions it cannot
// express.
func matchConditions(pol *policy.Policy, id string) ([]admissionv1.MatchCondition, []string) {
	conds := []admissionv1.MatchCondition{{
		Name:       "not-suppressed",
		Expression: "object.metadata.?annotations[?'" + policy.AnnotationPrefix + id + "'].orValue('').trim() == ''",
	}}
	var notes []string
	cfg := pol.Config
	for i := range cfg.Exemptions {
		x := &cfg.Exemptions[i]
		if x.Expired(pol.Now) || (len(x.Checks) > 0 && !slices.Contains(x.Checks, id)) {
			continue
		}
		where := fmt.Sprintf("exemption %d (%s:%d)", i, cfg.File, x.Line)
		if x.Path != "" {
			notes = append(notes, where+": a path exemption cannot apply at admission; the policies ignore it")
			continue
		}
		var terms []string
		for _, sel := range []struct{ glob, value string }{
			{x.Kind, "request.kind.kind"},
			{x.Namespace, "request.namespace"},
			{x.Name, "object.metadata.?name.orValue('')"},
		} {
			if sel.glob == "" {
				continue
			}
			re, ok := globRegexp(sel.glob)
			if !ok {
				notes = append(notes, where+": glob "+sel.glob+" has a character class, which CEL match conditions here cannot express; the policies ignore the exemption")
				terms = nil
				break
			}
			terms = append(terms, sel.value+".matches('"+celQuote(re)+"')")
		}
		if len(terms) == 0 && (x.Kind != "" || x.Namespace != "" || x.Name != "") {
			continue
		}
		expr := "false"
		if len(terms) > 0 {
			expr = "!(" + strings.Join(terms, " && ") + ")"
		}
		conds = append(conds, admissionv1.MatchCondition{Name: fmt.Sprintf("exemption-%d", i), Expression: expr})
	}
	return conds, notes
}

// globRegexp turns a filepath.Match pattern into an anchored RE2
// expression; ok is false for character classes.
func globRegexp(glob string) (string, bool) {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(glob); i++ {
		switch ch := glob[i]; ch {
		case '*':
			b.WriteString("[^/]*")
		case '?':
			b.WriteString("[^/]")
		case '[':
			return "", false
		case '\\':
			if i+1 < len(glob) {
				i++
				b.WriteString(regexp.QuoteMeta(glob[i : i+1]))
			}
		default:
			b.WriteString(regexp.QuoteMeta(string(ch)))
		}
	}
	b.WriteString("$")
	return b.String(), true
}

// Objects returns every generated object in the order they are written:
// policies before their bindings.
func (o *Output) Objects() []any {
	var out []any
	for i := range o.Validating {
		out = append(out, &o.Validating[i], &o.Bindings[i])
	}
	for i := range o.Mutating {
		out = append(out, &o.Mutating[i], &o.MBindings[i])
	}
	return out
}

// YAML writes the objects as a YAML stream with a header that lists what
// they do not cover.
func (o *Output) YAML() ([]byte, error) {
	var b strings.Builder
	b.WriteString("# Generated by kubeharden generate admission-policy. Admission policies for\n")
	b.WriteString("# the kubeharden checks that need no other object (Kubernetes 1.36+).\n")
	if len(o.NotCovered) > 0 {
		b.WriteString("#\n# Not covered (run kubeharden scan or the webhook for these):\n")
		for _, c := range o.NotCovered {
			fmt.Fprintf(&b, "#   %s: %s\n", c.ID, c.Reason)
		}
	}
	for _, n := range o.Notes {
		fmt.Fprintf(&b, "# Note: %s\n", n)
	}
	for i, obj := range o.Objects() {
		if i > 0 {
			b.WriteString("---\n")
		}
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
		if err != nil {
			return nil, err
		}
		// Fields the API server sets, zero in a manifest.
		delete(m, "status")
		if md, ok := m["metadata"].(map[string]any); ok {
			delete(md, "creationTimestamp")
		}
		y, err := yaml.Marshal(m)
		if err != nil {
			return nil, err
		}
		b.Write(y)
	}
	return []byte(b.String()), nil
}

// NewPolicy is policy.New over cfg for reg, judged today: the generator's
// view of the configuration.
func NewPolicy(cfg *config.Config, reg *check.Registry) *policy.Policy {
	return policy.New(cfg, reg, time.Time{})
}
