package vuln

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Record is one OSV vulnerability record (https://ossf.github.io/osv-schema/),
// reduced to what matching reads.
type Record struct {
	ID        string      `json:"id"`
	Modified  time.Time   `json:"modified"`
	Withdrawn *time.Time  `json:"withdrawn,omitempty"`
	Aliases   []string    `json:"aliases,omitempty"`
	Upstream  []string    `json:"upstream,omitempty"`
	Summary   string      `json:"summary,omitempty"`
	Severity  []Score     `json:"severity,omitempty"`
	Affected  []Affected  `json:"affected,omitempty"`
	Database  DatabaseExt `json:"database_specific,omitempty"`
}

// Score is a severity score of a record or of an affected package: a
// CVSS vector by type (CVSS_V3, CVSS_V4) or an ecosystem's own rating.
type Score struct {
	Type  string `json:"type"`
	Score string `json:"score"`
}

// DatabaseExt is the database_specific object: GitHub advisories put a
// severity word there.
type DatabaseExt struct {
	Severity looseString `json:"severity,omitempty"`
}

// looseString is a string of a free-form object (database_specific,
// ecosystem_specific), whose fields each database shapes its own way:
// anything but a string is read as "", never as an error that would
// reject the record.
type looseString string

func (l *looseString) UnmarshalJSON(data []byte) error {
	var s string
	if json.Unmarshal(data, &s) == nil {
		*l = looseString(s)
	}
	return nil
}

// Affected is one package a record affects and the versions that are.
type Affected struct {
	Package struct {
		Ecosystem string `json:"ecosystem"`
		Name      string `json:"name"`
		PURL      string `json:"purl,omitempty"`
	} `json:"package"`
	Ranges   []Range  `json:"ranges,omitempty"`
	Versions []string `json:"versions,omitempty"`
	Severity []Score  `json:"severity,omitempty"`
	// Ecosystem is ecosystem_specific: Debian writes an urgency, some
	// databases a severity.
	Ecosystem struct {
		Urgency  looseString `json:"urgency,omitempty"`
		Severity looseString `json:"severity,omitempty"`
	} `json:"ecosystem_specific,omitempty"`
	Database DatabaseExt `json:"database_specific,omitempty"`
}

// Range is a list of version events of one type (ECOSYSTEM, SEMVER or
// GIT, which matching cannot use on an installed package).
type Range struct {
	Type   string  `json:"type"`
	Events []Event `json:"events"`
}

// Event is one point of a range: exactly one field is set.
type Event struct {
	Introduced   string `json:"introduced,omitempty"`
	Fixed        string `json:"fixed,omitempty"`
	LastAffected string `json:"last_affected,omitempty"`
	Limit        string `json:"limit,omitempty"`
}

// ParseRecord reads one OSV record. A record must have an id; anything
// else missing just matches nothing.
func ParseRecord(data []byte) (*Record, error) {
	var r Record
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("not an OSV record: %w", cleanJSONError(err))
	}
	if strings.TrimSpace(r.ID) == "" {
		return nil, errors.New("not an OSV record: no id")
	}
	return &r, nil
}

// cleanJSONError drops the Go type names encoding/json puts in its errors.
func cleanJSONError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("field %q: a %s where %s was expected", te.Field, te.Value, jsonKind(te.Type.Kind().String()))
	}
	return err
}

func jsonKind(k string) string {
	switch k {
	case "slice", "array":
		return "an array"
	case "struct", "map", "ptr":
		return "an object"
	case "string":
		return "a string"
	}
	return "a " + k
}

// splitEcosystem splits "Debian:12" into "Debian" and "12".
func splitEcosystem(e string) (base, release string) {
	base, release, _ = strings.Cut(e, ":")
	return base, release
}
