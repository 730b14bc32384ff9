package admissionpolicy

import (
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/policy"
)

// A mutation is the apply-configuration form of a check's fix, with the
// care of `kubeharden fix`: it never writes what the API server would
// reject, and leaves alone what it cannot clear (a privileged container
// still escalates, whatever allowPrivilegeEscalation says).
type mutation struct {
	// container, when set, selects the containers (c) to change; set
	// builds their change given the container type's name T.
	container string
	set       func(t string) string
	// patch, instead of set, builds a JSON patch operation for c, whose
	// JSON pointer is the CEL string at.
	patch func(at string) string
	// pod, when set, is true when the pod-level field must change, and
	// podSet builds the change of the pod spec type T.
	pod    string
	podSet func(t string) string
}

var mutations = map[string]mutation{
	"allow-privilege-escalation": {
		container: "!(" + sc("privileged") + ".orValue(false) == true) && !" +
			sc("capabilities.?add") + ".orValue([]).exists(a, " + capNorm + " in " + capabilityList([]string{"SYS_ADMIN", "ALL"}) + ") && " +
			sc("allowPrivilegeEscalation") + ".orValue(true) != false",
		set: func(t string) string {
			return "securityContext: " + t + ".securityContext{allowPrivilegeEscalation: false}"
		},
	},
	"capabilities-drop-all": {
		// capabilities.drop is an atomic list, which an apply
		// configuration may not change: a JSON patch appends to it.
		container: rules["capabilities-drop-all"].container(nil),
		patch: func(at string) string {
			op := func(path, value string) string {
				return "JSONPatch{op: 'add', path: " + at + " + '/securityContext" + path + "', value: " + value + "}"
			}
			return "has(c.securityContext) ? (has(c.securityContext.capabilities) ? (has(c.securityContext.capabilities.drop) ? " +
				op("/capabilities/drop/-", "'ALL'") + " : " + op("/capabilities/drop", "['ALL']") + ") : " +
				op("/capabilities", "{'drop': ['ALL']}") + ") : " + op("", "{'capabilities': {'drop': ['ALL']}}")
		},
	},
	"seccomp-profile": {
		container: sc("seccompProfile") + ".hasValue() && !" + profileOK("c.securityContext.seccompProfile"),
		set: func(t string) string {
			return "securityContext: " + t + ".securityContext{seccompProfile: " + t + ".securityContext.seccompProfile{type: 'RuntimeDefault'}}"
		},
		pod: "!" + profileOK("$spec.?securityContext.?seccompProfile.orValue({})"),
		podSet: func(t string) string {
			return "securityContext: " + t + ".securityContext{seccompProfile: " + t + ".securityContext.seccompProfile{type: 'RuntimeDefault'}}"
		},
	},
}

// shapes are where each kind keeps its pod spec.
var shapes = []struct {
	kinds []string
	path  []string
}{
	{[]string{"Pod"}, []string{"spec"}},
	{[]string{"PodTemplate"}, []string{"template", "spec"}},
	{[]string{"CronJob"}, []string{"spec", "jobTemplate", "spec", "template", "spec"}},
	{[]string{"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job"}, []string{"spec", "template", "spec"}},
}

// wrap nests inner (the fields of the pod spec) in the apply
// configuration of path.
func wrap(path []string, inner string) string {
	s := inner
	for i := len(path) - 1; i >= 0; i-- {
		s = path[i] + ": " + typeName(path[:i+1]) + "{" + s + "}"
	}
	return "Object{" + s + "}"
}

func typeName(path []string) string { return "Object." + strings.Join(path, ".") }

func kindIn(kinds []string) string {
	var terms []string
	for _, k := range kinds {
		terms = append(terms, "request.kind.kind == '"+k+"'")
	}
	return "(" + strings.Join(terms, " || ") + ")"
}

func mutating(id string, mu mutation, _ *check.Params, _ *policy.Policy, conds []admissionv1.MatchCondition) admissionv1.MutatingAdmissionPolicy {
	fail := admissionv1.Fail
	never := admissionv1.NeverReinvocationPolicy
	linux := "variables.spec.?os.?name.orValue('') != 'windows'"
	var muts []admissionv1.Mutation
	for _, sh := range shapes {
		t := typeName(sh.path)
		when := kindIn(sh.kinds) + " && " + linux
		if mu.pod != "" {
			cond := strings.ReplaceAll(mu.pod, "$spec", "variables.spec")
			muts = append(muts, applyMutation(when+" && "+cond+" ? "+wrap(sh.path, mu.podSet(t))+" : Object{}"))
		}
		if mu.patch != nil {
			sel := strings.ReplaceAll(mu.container, "$spec", "variables.spec")
			var lists []string
			for _, list := range []string{"initContainers", "containers"} {
				at := "'/" + strings.Join(sh.path, "/") + "/" + list + "/' + string(variables.spec." + list + ".indexOf(c))"
				lists = append(lists, "variables.spec.?"+list+".orValue([]).filter(c, "+sel+").map(c, "+mu.patch(at)+")")
			}
			muts = append(muts, admissionv1.Mutation{
				PatchType: admissionv1.PatchTypeJSONPatch,
				JSONPatch: &admissionv1.JSONPatch{Expression: when + " ? " + strings.Join(lists, " + ") + " : []"},
			})
			continue
		}
		if mu.container != "" {
			sel := strings.ReplaceAll(mu.container, "$spec", "variables.spec")
			var fields []string
			for _, list := range []string{"initContainers", "containers"} {
				lt := t + "." + list
				fields = append(fields, list+": variables.spec.?"+list+".orValue([]).filter(c, "+sel+").map(c, "+lt+"{name: c.name, "+mu.set(lt)+"})")
			}
			any := "variables.spec.?initContainers.orValue([]).exists(c, " + sel + ") || variables.spec.containers.exists(c, " + sel + ")"
			muts = append(muts, applyMutation(when+" && ("+any+") ? "+wrap(sh.path, strings.Join(fields, ", "))+" : Object{}"))
		}
	}
	return admissionv1.MutatingAdmissionPolicy{
		TypeMeta: metav1.TypeMeta{APIVersion: admissionv1.SchemeGroupVersion.String(), Kind: "MutatingAdmissionPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: Prefix + id, Labels: labels(), Annotations: map[string]string{
			"kubeharden.io/check": id,
		}},
		Spec: admissionv1.MutatingAdmissionPolicySpec{
			FailurePolicy: &fail,
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{
				ruleFor("", "pods", "podtemplates", "replicationcontrollers"),
				ruleFor("apps", "deployments", "statefulsets", "daemonsets", "replicasets"),
				ruleFor("batch", "jobs", "cronjobs"),
			}},
			MatchConditions:    conds,
			Variables:          []admissionv1.Variable{{Name: "spec", Expression: specExpr("object")}},
			Mutations:          muts,
			ReinvocationPolicy: never,
		},
	}
}

func applyMutation(expr string) admissionv1.Mutation {
	return admissionv1.Mutation{
		PatchType:          admissionv1.PatchTypeApplyConfiguration,
		ApplyConfiguration: &admissionv1.ApplyConfiguration{Expression: expr},
	}
}

func mutatingBinding(id string) admissionv1.MutatingAdmissionPolicyBinding {
	return admissionv1.MutatingAdmissionPolicyBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: admissionv1.SchemeGroupVersion.String(), Kind: "MutatingAdmissionPolicyBinding"},
		ObjectMeta: metav1.ObjectMeta{Name: Prefix + id, Labels: labels()},
		Spec: admissionv1.MutatingAdmissionPolicyBindingSpec{
			PolicyName:     Prefix + id,
			MatchResources: &admissionv1.MatchResources{NamespaceSelector: excludeNamespaces()},
		},
	}
}
