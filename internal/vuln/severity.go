package vuln

import (
	"strings"

	cvss30 "github.com/pandatix/go-cvss/30"
	cvss31 "github.com/pandatix/go-cvss/31"
	cvss40 "github.com/pandatix/go-cvss/40"

	"github.com/kubeharden/kubeharden/internal/check"
)

// Rating is how severe a vulnerability is, and how that was learnt.
type Rating struct {
	Severity check.Severity
	// Score is the CVSS base score, 0 when the severity came from a word.
	Score float64
	// Known is false when the record says nothing usable: Severity is
	// then Medium, and reports say "severity unknown".
	Known bool
}

// rate finds the severity of rec for one affected entry: a CVSS vector of
// the entry, then of the record (v3 before v4; the base score computed by
// go-cvss), then a severity word of the database (GitHub's
// database_specific.severity, Ubuntu's and Debian's ratings).
func rate(rec *Record, aff *Affected) Rating {
	for _, scores := range [][]Score{aff.Severity, rec.Severity} {
		if r, ok := cvssRating(scores); ok {
			return r
		}
	}
	words := []string{string(aff.Database.Severity), string(aff.Ecosystem.Severity), string(rec.Database.Severity)}
	for _, s := range append(aff.Severity, rec.Severity...) {
		if !strings.HasPrefix(s.Type, "CVSS") {
			words = append(words, s.Score)
		}
	}
	words = append(words, string(aff.Ecosystem.Urgency))
	for _, w := range words {
		if sev, ok := severityWord(w); ok {
			return Rating{Severity: sev, Known: true}
		}
	}
	return Rating{Severity: check.Medium}
}

func cvssRating(scores []Score) (Rating, bool) {
	for _, typ := range []string{"CVSS_V3", "CVSS_V4"} {
		for _, s := range scores {
			if s.Type != typ {
				continue
			}
			if score, ok := cvssScore(s.Score); ok {
				return Rating{Severity: scoreSeverity(score), Score: score, Known: true}, true
			}
		}
	}
	return Rating{}, false
}

// cvssScore computes the base score of a CVSS 3.0, 3.1 or 4.0 vector.
func cvssScore(vector string) (float64, bool) {
	switch {
	case strings.HasPrefix(vector, "CVSS:3.1/"):
		if v, err := cvss31.ParseVector(vector); err == nil {
			return v.BaseScore(), true
		}
	case strings.HasPrefix(vector, "CVSS:3.0/"):
		if v, err := cvss30.ParseVector(vector); err == nil {
			return v.BaseScore(), true
		}
	case strings.HasPrefix(vector, "CVSS:4.0/"):
		if v, err := cvss40.ParseVector(vector); err == nil {
			return v.Score(), true
		}
	}
	return 0, false
}

// scoreSeverity is the qualitative rating of a CVSS score (the same
// bands in v3 and v4).
func scoreSeverity(score float64) check.Severity {
	switch {
	case score >= 9:
		return check.Critical
	case score >= 7:
		return check.High
	case score >= 4:
		return check.Medium
	case score > 0:
		return check.Low
	}
	return check.Info
}

// severityWord reads the ratings databases write in words.
func severityWord(w string) (check.Severity, bool) {
	switch strings.ToLower(strings.TrimSpace(w)) {
	case "critical":
		return check.Critical, true
	case "high", "important":
		return check.High, true
	case "medium", "moderate":
		return check.Medium, true
	case "low", "negligible", "unimportant":
		return check.Low, true
	}
	return 0, false
}
