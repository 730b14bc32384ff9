package vuln

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/limits"
)

// VEX is an OpenVEX document (https://github.com/openvex/spec): statements
// that a product is or is not affected by a vulnerability.
type VEX struct {
	File       string
	Statements []VEXStatement

	// byName indexes the statements by lowercased vulnerability name and
	// alias, so that judging a match costs its own statements only.
	byName map[string][]int
}

// VEXStatement is one statement, its products reduced to their IDs.
type VEXStatement struct {
	// Vulnerability is the name and aliases of the vulnerability.
	Vulnerability []string
	// Products are product IDs (a PURL, an image reference or digest),
	// each with its subcomponents (package PURLs), when it lists some.
	Products []VEXProduct
	// Status is not_affected, affected, fixed or under_investigation.
	Status        string
	Justification string
	Impact        string
}

// VEXProduct is a product of a statement.
type VEXProduct struct {
	ID            string
	Subcomponents []string
}

// ReadVEX reads an OpenVEX JSON document, bounded by the record size.
func ReadVEX(file string, lim limits.Limits) (*VEX, error) {
	data, err := readFileBounded(file, lim.VulnRecordSize, lim.VulnRecordSizeExceeded)
	if err != nil {
		return nil, fmt.Errorf("reading VEX document: %w", err)
	}
	v, err := ParseVEX(data)
	if err != nil {
		return nil, fmt.Errorf("VEX document %s: %w", file, err)
	}
	v.File = file
	return v, nil
}

// ParseVEX reads OpenVEX 0.2.0, and the 0.0.1 form whose vulnerability
// and products are plain strings.
func ParseVEX(data []byte) (*VEX, error) {
	var doc struct {
		Context    string `json:"@context"`
		Statements []struct {
			Vulnerability json.RawMessage   `json:"vulnerability"`
			Products      []json.RawMessage `json:"products"`
			Status        string            `json:"status"`
			Justification string            `json:"justification"`
			Impact        string            `json:"impact_statement"`
		} `json:"statements"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("not an OpenVEX document: %w", cleanJSONError(err))
	}
	if !strings.Contains(doc.Context, "openvex") {
		return nil, errors.New("not an OpenVEX document: no openvex @context")
	}
	v := &VEX{}
	for i, s := range doc.Statements {
		st := VEXStatement{Status: s.Status, Justification: s.Justification, Impact: s.Impact}
		switch s.Status {
		case "not_affected", "affected", "fixed", "under_investigation":
		default:
			return nil, fmt.Errorf("statements[%d]: status %q is not one of not_affected, affected, fixed, under_investigation", i, s.Status)
		}
		var name string
		if json.Unmarshal(s.Vulnerability, &name) == nil {
			st.Vulnerability = []string{name}
		} else {
			var obj struct {
				Name    string   `json:"name"`
				ID      string   `json:"@id"`
				Aliases []string `json:"aliases"`
			}
			if err := json.Unmarshal(s.Vulnerability, &obj); err != nil {
				return nil, fmt.Errorf("statements[%d].vulnerability: %w", i, cleanJSONError(err))
			}
			st.Vulnerability = append([]string{obj.Name}, obj.Aliases...)
		}
		if len(st.Vulnerability) == 0 || st.Vulnerability[0] == "" {
			return nil, fmt.Errorf("statements[%d]: no vulnerability name", i)
		}
		for j, raw := range s.Products {
			var id string
			if json.Unmarshal(raw, &id) == nil {
				st.Products = append(st.Products, VEXProduct{ID: id})
				continue
			}
			var obj struct {
				ID            string `json:"@id"`
				Subcomponents []struct {
					ID string `json:"@id"`
				} `json:"subcomponents"`
			}
			if err := json.Unmarshal(raw, &obj); err != nil {
				return nil, fmt.Errorf("statements[%d].products[%d]: %w", i, j, cleanJSONError(err))
			}
			p := VEXProduct{ID: obj.ID}
			for _, sc := range obj.Subcomponents {
				p.Subcomponents = append(p.Subcomponents, sc.ID)
			}
			st.Products = append(st.Products, p)
		}
		v.Statements = append(v.Statements, st)
	}
	v.byName = map[string][]int{}
	for i, st := range v.Statements {
		for _, n := range st.Vulnerability {
			k := strings.ToLower(n)
			if l := v.byName[k]; len(l) == 0 || l[len(l)-1] != i {
				v.byName[k] = append(l, i)
			}
		}
	}
	return v, nil
}

// Suppression returns why m, found in the image of digest and reference
// ref, does not count according to the document: its last statement on
// that vulnerability and image saying not_affected or fixed. A later
// affected or under_investigation statement takes that back.
func (v *VEX) Suppression(m *Match, digest, ref string) *check.Suppression {
	var idx []int
	for _, id := range m.IDs() {
		idx = append(idx, v.byName[strings.ToLower(id)]...)
	}
	slices.Sort(idx)
	var last *VEXStatement
	for _, i := range slices.Compact(idx) {
		if st := &v.Statements[i]; st.covers(m, digest, ref) {
			last = st
		}
	}
	if last == nil || (last.Status != "not_affected" && last.Status != "fixed") {
		return nil
	}
	reason := last.Status
	if last.Justification != "" {
		reason += ": " + last.Justification
	}
	if last.Impact != "" {
		reason += ": " + last.Impact
	}
	return &check.Suppression{Kind: "vex", Reason: reason, Source: v.File}
}

func namesAny(names, ids []string) bool {
	for _, n := range names {
		for _, id := range ids {
			if n != "" && strings.EqualFold(n, id) {
				return true
			}
		}
	}
	return false
}

// covers reports whether a product of the statement is the image (by
// digest, or by the reference as given) and, when it lists
// subcomponents, one of them is the package (by PURL, qualifiers
// ignored, or by name).
func (st *VEXStatement) covers(m *Match, digest, ref string) bool {
	for _, p := range st.Products {
		if (digest == "" || digestOf(p.ID) != digest) && p.ID != ref {
			continue
		}
		if len(p.Subcomponents) == 0 {
			return true
		}
		for _, sc := range p.Subcomponents {
			if sc == m.Package.Name || (m.Package.PURL != "" && purlBase(sc) == purlBase(m.Package.PURL)) {
				return true
			}
		}
	}
	return false
}

// purlBase is a PURL without its qualifiers and subpath.
func purlBase(p string) string {
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	return strings.ReplaceAll(p, "%2B", "+")
}
