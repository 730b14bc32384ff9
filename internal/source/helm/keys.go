package helm

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
)

// ValueKey is a value a chart offers: declared in values.yaml or
// values.schema.json, or read by a template.
type ValueKey struct {
	// Path is the dotted key (serviceAccount.automount).
	Path string
	// Type is "boolean", "object", "string", "number", "array" or "" when
	// unknown (a template reads it; nothing declares it).
	Type string
	// Set reports whether values.yaml sets it (Default is then its value).
	Set     bool
	Default any
	// From says where it was found: "values.yaml", "values.schema.json"
	// or "templates".
	From string
}

// Bounds of ValueKeys: a chart's own keys are a few thousand at most.
const (
	maxKeyDepth = 6
	maxKeys     = 20000
)

// templateValuesRef is a .Values reference in a template (or a helper).
var templateValuesRef = regexp.MustCompile(`\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)`)

// ValueKeys lists the values the chart at path offers, its subcharts' not
// included: those of values.yaml, of values.schema.json (with the type the
// schema gives), and those its templates read, declared or not. Keys are
// unique and sorted; one found in several places keeps the most precise
// type.
func ValueKeys(path string) ([]ValueKey, error) {
	c, err := loader.Load(path)
	if err != nil {
		return nil, err
	}
	return valueKeys(c), nil
}

func valueKeys(root *chart.Chart) []ValueKey {
	keys := map[string]*ValueKey{}
	add := func(k ValueKey) {
		if len(keys) >= maxKeys || strings.Count(k.Path, ".") >= maxKeyDepth {
			return
		}
		if old, ok := keys[k.Path]; ok {
			if old.Type == "" {
				old.Type = k.Type
			}
			if k.Set && !old.Set {
				old.Set, old.Default = true, k.Default
			}
			return
		}
		keys[k.Path] = &k
	}
	// Each chart's keys, a subchart's under its name, as its parent
	// passes them (an alias is not known before the dependencies are
	// processed: the name is what most charts use).
	var chartKeys func(c *chart.Chart, at string, depth int)
	chartKeys = func(c *chart.Chart, at string, depth int) {
		var walkValues func(m map[string]any, prefix string)
		walkValues = func(m map[string]any, prefix string) {
			for k, v := range m {
				p := prefix + k
				add(ValueKey{Path: p, Type: jsonType(v), Set: true, Default: v, From: "values.yaml"})
				if sub, ok := v.(map[string]any); ok && strings.Count(p, ".") < maxKeyDepth {
					walkValues(sub, p+".")
				}
			}
		}
		walkValues(c.Values, at)
		if len(c.Schema) > 0 {
			var schema map[string]any
			if json.Unmarshal(c.Schema, &schema) == nil {
				var walkSchema func(s map[string]any, prefix string, depth int)
				walkSchema = func(s map[string]any, prefix string, depth int) {
					props, _ := s["properties"].(map[string]any)
					for k, v := range props {
						sub, _ := v.(map[string]any)
						t, _ := sub["type"].(string)
						add(ValueKey{Path: prefix + k, Type: t, From: "values.schema.json"})
						if depth < maxKeyDepth {
							walkSchema(sub, prefix+k+".", depth+1)
						}
					}
				}
				walkSchema(schema, at, 0)
			}
		}
		for _, f := range c.Templates {
			if f == nil {
				continue
			}
			for _, m := range templateValuesRef.FindAllSubmatch(f.Data, -1) {
				p := at + string(m[1][1:])
				// Every prefix is a key too: .Values.a.b reads a.
				for i := len(at); i < len(p); i++ {
					if p[i] == '.' {
						add(ValueKey{Path: p[:i], Type: "object", From: "templates"})
					}
				}
				add(ValueKey{Path: p, From: "templates"})
			}
		}
		if depth < 4 {
			for _, sc := range c.Dependencies() {
				chartKeys(sc, at+sc.Name()+".", depth+1)
			}
		}
	}
	chartKeys(root, "", 0)
	out := make([]ValueKey, 0, len(keys))
	for _, k := range keys {
		out = append(out, *k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// jsonType names the JSON Schema type of a value of values.yaml.
func jsonType(v any) string {
	switch v.(type) {
	case bool:
		return "boolean"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case nil:
		return ""
	}
	return "number"
}
