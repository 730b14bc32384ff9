package checks

import (
	"testing"

	"go.yaml.in/yaml/v3"
)

func netpolTestNode(t *testing.T, src string) *yaml.Node {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		t.Fatalf("%q: %v", src, err)
	}
	return &n
}

func TestNetpolSelectorMatches(t *testing.T) {
	api := map[string]string{"app": "api", "tier": "backend"}
	none := map[string]string{}
	for _, tt := range []struct {
		name     string
		selector string
		labels   map[string]string
		want     bool
		all      bool
		invalid  bool
	}{
		{name: "empty selects all", selector: "{}", labels: api, want: true, all: true},
		{name: "empty selects unlabelled", selector: "{}", labels: none, want: true, all: true},
		{name: "null selects all", selector: "null", labels: api, want: true, all: true},
		{name: "null matchLabels", selector: "matchLabels:\n", labels: none, want: true, all: true},
		{name: "empty parts", selector: "{matchLabels: {}, matchExpressions: []}", labels: api, want: true, all: true},

		{name: "matchLabels subset", selector: "matchLabels: {app: api}", labels: api, want: true},
		{name: "matchLabels all", selector: "matchLabels: {app: api, tier: backend}", labels: api, want: true},
		{name: "matchLabels other value", selector: "matchLabels: {app: web}", labels: api, want: false},
		{name: "matchLabels missing key", selector: "matchLabels: {app: api, env: prod}", labels: api, want: false},
		{name: "matchLabels unlabelled", selector: "matchLabels: {app: api}", labels: none, want: false},
		{name: "matchLabels null value is empty", selector: "matchLabels: {app: }", labels: map[string]string{"app": ""}, want: true},

		{name: "In", selector: "matchExpressions: [{key: app, operator: In, values: [web, api]}]", labels: api, want: true},
		{name: "In other", selector: "matchExpressions: [{key: app, operator: In, values: [web]}]", labels: api, want: false},
		{name: "In absent", selector: "matchExpressions: [{key: env, operator: In, values: [prod]}]", labels: api, want: false},
		{name: "NotIn", selector: "matchExpressions: [{key: app, operator: NotIn, values: [web]}]", labels: api, want: true},
		{name: "NotIn listed", selector: "matchExpressions: [{key: app, operator: NotIn, values: [api]}]", labels: api, want: false},
		{name: "NotIn absent", selector: "matchExpressions: [{key: env, operator: NotIn, values: [prod]}]", labels: api, want: true},
		{name: "Exists", selector: "matchExpressions: [{key: tier, operator: Exists}]", labels: api, want: true},
		{name: "Exists absent", selector: "matchExpressions: [{key: env, operator: Exists}]", labels: api, want: false},
		{name: "Exists empty values", selector: "matchExpressions: [{key: tier, operator: Exists, values: []}]", labels: api, want: true},
		{name: "DoesNotExist", selector: "matchExpressions: [{key: env, operator: DoesNotExist}]", labels: api, want: true},
		{name: "DoesNotExist present", selector: "matchExpressions: [{key: app, operator: DoesNotExist}]", labels: api, want: false},
		{name: "DoesNotExist unlabelled", selector: "matchExpressions: [{key: app, operator: DoesNotExist}]", labels: none, want: true},

		{name: "labels AND expressions", selector: "{matchLabels: {app: api}, matchExpressions: [{key: tier, operator: In, values: [backend]}]}", labels: api, want: true},
		{name: "labels AND failing expression", selector: "{matchLabels: {app: api}, matchExpressions: [{key: tier, operator: NotIn, values: [backend]}]}", labels: api, want: false},
		{name: "expressions AND", selector: "matchExpressions: [{key: app, operator: Exists}, {key: env, operator: Exists}]", labels: api, want: false},

		{name: "unknown operator", selector: "matchExpressions: [{key: app, operator: exists}]", labels: api, want: false, invalid: true},
		{name: "In without values", selector: "matchExpressions: [{key: app, operator: In}]", labels: api, want: false, invalid: true},
		{name: "NotIn empty values", selector: "matchExpressions: [{key: env, operator: NotIn, values: []}]", labels: api, want: false, invalid: true},
		{name: "Exists with values", selector: "matchExpressions: [{key: app, operator: Exists, values: [api]}]", labels: api, want: false, invalid: true},
		{name: "no key", selector: "matchExpressions: [{operator: Exists}]", labels: api, want: false, invalid: true},
		{name: "matchLabels list", selector: "matchLabels: [app]", labels: api, want: false, invalid: true},
		{name: "matchExpressions mapping", selector: "matchExpressions: {key: app}", labels: api, want: false, invalid: true},
		{name: "scalar selector", selector: "app=api", labels: api, want: false, invalid: true},

		{name: "aliases", selector: "matchLabels: &l {app: api}\nmatchExpressions: [{key: tier, operator: In, values: &v [backend]}]", labels: api, want: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := netpolParseSelector(netpolTestNode(t, tt.selector))
			if got := s.matches(tt.labels); got != tt.want {
				t.Errorf("matches(%v) = %v, want %v", tt.labels, got, tt.want)
			}
			if got := s.selectsAll(); got != tt.all {
				t.Errorf("selectsAll() = %v, want %v", got, tt.all)
			}
			if s.invalid != tt.invalid {
				t.Errorf("invalid = %v, want %v", s.invalid, tt.invalid)
			}
		})
	}
}

func TestNetpolSelectorCanonical(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		same bool
	}{
		{"{}", "null", true},
		{"{}", "{matchLabels: {}, matchExpressions: []}", true},
		{"matchLabels: {app: api, tier: web}", "matchLabels: {tier: web, app: api}", true},
		{"matchLabels: {app: api}", "matchExpressions: [{key: app, operator: In, values: [api]}]", true},
		{"matchExpressions: [{key: a, operator: In, values: [x, y, x]}]", "matchExpressions: [{key: a, operator: In, values: [y, x]}]", true},
		{"matchExpressions: [{key: a, operator: Exists}, {key: a, operator: Exists}]", "matchExpressions: [{key: a, operator: Exists}]", true},
		{"matchExpressions: [{key: a, operator: Exists}, {key: b, operator: Exists}]", "matchExpressions: [{key: b, operator: Exists}, {key: a, operator: Exists}]", true},
		{"matchLabels: {app: api}", "matchLabels: {app: web}", false},
		{"matchLabels: {app: api}", "{}", false},
		{"matchExpressions: [{key: a, operator: In, values: [x]}]", "matchExpressions: [{key: a, operator: NotIn, values: [x]}]", false},
		{"matchExpressions: [{key: a, operator: In, values: [xy]}]", "matchExpressions: [{key: a, operator: In, values: [x, y]}]", false},
		{"matchExpressions: [{key: a, operator: In}]", "{}", false},
	} {
		a := netpolParseSelector(netpolTestNode(t, tt.a))
		b := netpolParseSelector(netpolTestNode(t, tt.b))
		if got := a.canonical() == b.canonical(); got != tt.same {
			t.Errorf("canonical(%q) == canonical(%q): %v, want %v", tt.a, tt.b, got, tt.same)
		}
	}
}

func TestNetpolLabelsKey(t *testing.T) {
	for _, tt := range []struct {
		labels string
		want   map[string]string
	}{
		{"{}", map[string]string{}},
		{"null", map[string]string{}},
		{"{app: api}", map[string]string{"app": "api"}},
		{"{tier: web, app: api, empty: ''}", map[string]string{"app": "api", "tier": "web", "empty": ""}},
		// The last of a repeated key wins, as when kubectl decodes it.
		{"{app: api, app: web}", map[string]string{"app": "web"}},
		// Values that are not strings are no labels.
		{"{app: api, list: [a]}", map[string]string{"app": "api"}},
	} {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(tt.labels), &n); err != nil {
			// yaml.v3 rejects repeated keys; nothing to test then.
			continue
		}
		key := netpolLabelsKey(&n)
		got := netpolLabelsFromKey(key)
		if len(got) != len(tt.want) {
			t.Errorf("%s: got %v, want %v", tt.labels, got, tt.want)
			continue
		}
		for k, v := range tt.want {
			if gv, ok := got[k]; !ok || gv != v {
				t.Errorf("%s: got %v, want %v", tt.labels, got, tt.want)
			}
		}
	}
	// Order does not matter.
	a := netpolLabelsKey(netpolTestNode(t, "{a: '1', b: '2'}"))
	b := netpolLabelsKey(netpolTestNode(t, "{b: '2', a: '1'}"))
	if a != b {
		t.Errorf("labels key depends on order: %q != %q", a, b)
	}
}
