// Package config reads and validates .kubeharden.yaml: which checks run, at
// what severity, with which parameters, and which objects are exempt.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/k8sversion"
	"github.com/kubeharden/kubeharden/internal/object"
	"github.com/kubeharden/kubeharden/internal/source"
)

var versionRE = regexp.MustCompile(`^v?1\.[0-9]+$`)

// FileName is the name looked up from the scanned path upward.
const FileName = ".kubeharden.yaml"

// Config is a parsed and validated .kubeharden.yaml.
type Config struct {
	// File is where the config was read from; "" for the defaults.
	File       string
	Checks     Checks      `yaml:"checks"`
	Parameters Parameters  `yaml:"parameters"`
	Exemptions []Exemption `yaml:"exemptions"`
	Fix        Fix         `yaml:"fix"`
	// Admission configures `kubeharden webhook`.
	Admission Admission `yaml:"admission"`
	// Vulnerabilities configures image-vulnerability.
	Vulnerabilities Vulnerabilities `yaml:"vulnerabilities"`

	severity map[string]check.Severity
}

// The admission modes: what the webhook does with a finding.
const (
	// Enforce denies the request; the message lists every reason.
	Enforce = "enforce"
	// Warn admits it, with one warning per finding for the client.
	Warn = "warn"
	// Audit admits it silently, and logs and counts the finding.
	Audit = "audit"
	// Off ignores the check at admission (it still runs in scans).
	Off = "off"
)

// Modes are the admission modes, in the order the docs list them.
func Modes() []string { return []string{Enforce, Warn, Audit, Off} }

// The failure policies of a webhook registration.
const (
	FailurePolicyIgnore = "Ignore"
	FailurePolicyFail   = "Fail"
)

// Admission configures the admission webhook: the mode of each finding,
// which checks may mutate, and which namespaces are never judged.
type Admission struct {
	// Mode applies to every check that neither Checks nor Severity name;
	// "" means warn.
	Mode string `yaml:"mode"`
	// Severity sets the mode of the checks of a severity (their effective
	// severity, after checks.severity).
	Severity map[string]string `yaml:"severity"`
	// Checks sets the mode of a check by ID; it wins over Severity.
	Checks map[string]string `yaml:"checks"`
	// Mutate lists the checks whose fixes /mutate applies on CREATE.
	Mutate []string `yaml:"mutate"`
	// ExcludeNamespaces are never judged nor mutated, besides kube-system,
	// kube-node-lease and the webhook's own namespace.
	ExcludeNamespaces []string `yaml:"excludeNamespaces"`
	// FailurePolicy is the failurePolicy the registration should have
	// (Ignore, the default, or Fail); `webhook doctor` compares them.
	FailurePolicy string `yaml:"failurePolicy"`

	severity map[check.Severity]string
}

// ModeOf returns the admission mode of a finding of check id at severity
// sev: by check, then by severity, then the default.
func (a *Admission) ModeOf(id string, sev check.Severity) string {
	if m, ok := a.Checks[id]; ok {
		return m
	}
	if m, ok := a.severity[sev]; ok {
		return m
	}
	if a.Mode != "" {
		return a.Mode
	}
	return Warn
}

// Fix holds the values `kubeharden fix` writes; flags override them.
type Fix struct {
	// UID and GID are written where runAsUser, runAsGroup or fsGroup are
	// missing or out of range, and into Dockerfile USER lines.
	UID *int64 `yaml:"uid"`
	GID *int64 `yaml:"gid"`
	// Resources are written by `fix --resources`.
	Resources FixResources `yaml:"resources"`
}

// FixResources are default requests and limits; unset ones keep the
// built-in defaults, "" is not allowed.
type FixResources struct {
	Requests Quantities `yaml:"requests"`
	Limits   Quantities `yaml:"limits"`
}

// Quantities are a CPU and a memory quantity (100m, 128Mi).
type Quantities struct {
	CPU    string `yaml:"cpu"`
	Memory string `yaml:"memory"`
}

// Vulnerabilities configures the image-vulnerability findings.
type Vulnerabilities struct {
	// Severity is the lowest severity reported (info, the default,
	// reports every vulnerability); lower ones are dropped, not counted.
	Severity string `yaml:"severity"`
	// MaxDatabaseAge is how old the newest data of a vulnerability
	// database may be before each run warns (DefaultMaxDatabaseAge when
	// unset): 36h, 7d.
	MaxDatabaseAge string `yaml:"maxDatabaseAge"`
	// Ignore suppresses vulnerabilities by ID (or alias), with a reason
	// and an optional expiry, like exemptions.
	Ignore []VulnerabilityIgnore `yaml:"ignore"`

	severity check.Severity
	maxAge   time.Duration
}

// DefaultMaxDatabaseAge is how old a vulnerability database may be
// before a warning, when vulnerabilities.maxDatabaseAge is unset.
const DefaultMaxDatabaseAge = 7 * 24 * time.Hour

// VulnerabilityIgnore suppresses one vulnerability.
type VulnerabilityIgnore struct {
	// ID is the vulnerability's ID or one of its aliases (CVE-2024-1234).
	ID string `yaml:"id"`
	// Package, when set, limits the entry to the package of that name.
	Package string `yaml:"package"`
	Reason  string `yaml:"reason"`
	// Expires is a date (YYYY-MM-DD) from which the entry no longer
	// applies and is itself reported, like an exemption's.
	Expires string `yaml:"expires"`

	Line    int       `yaml:"-"`
	expires time.Time `yaml:"-"`
}

// Expired reports whether the entry has expired on day now.
func (v *VulnerabilityIgnore) Expired(now time.Time) bool {
	return !v.expires.IsZero() && !now.Before(v.expires)
}

// Threshold is the lowest severity of vulnerability reported.
func (v *Vulnerabilities) Threshold() check.Severity { return v.severity }

// MaxAge is how old a vulnerability database may be.
func (v *Vulnerabilities) MaxAge() time.Duration {
	if v.maxAge == 0 {
		return DefaultMaxDatabaseAge
	}
	return v.maxAge
}

// parseAge reads a duration, with d for days besides Go's units.
func parseAge(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 || n > 36500 {
			return 0, fmt.Errorf("%q is not a number of days", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a positive duration (36h, 7d)", s)
	}
	return d, nil
}

func (c *Config) validateVulnerabilities(fail func(line int, format string, args ...any), at func(path ...any) int) {
	v := &c.Vulnerabilities
	if v.Severity != "" {
		sev, err := check.ParseSeverity(v.Severity)
		if err != nil {
			fail(at("vulnerabilities", "severity"), "vulnerabilities.severity: %v", err)
		}
		v.severity = sev
	}
	if v.MaxDatabaseAge != "" {
		d, err := parseAge(v.MaxDatabaseAge)
		if err != nil {
			fail(at("vulnerabilities", "maxDatabaseAge"), "vulnerabilities.maxDatabaseAge: %v", err)
		}
		v.maxAge = d
	}
	for i := range v.Ignore {
		e := &v.Ignore[i]
		e.Line = at("vulnerabilities", "ignore", i)
		if strings.TrimSpace(e.ID) == "" {
			fail(e.Line, "vulnerabilities.ignore[%d]: an id is required", i)
		}
		if strings.TrimSpace(e.Reason) == "" {
			fail(e.Line, "vulnerabilities.ignore[%d]: a reason is required", i)
		}
		if e.Expires != "" {
			t, err := time.Parse("2006-01-02", e.Expires)
			if err != nil {
				fail(at("vulnerabilities", "ignore", i, "expires"), "vulnerabilities.ignore[%d].expires: %q is not a date (YYYY-MM-DD)", i, e.Expires)
			}
			e.expires = t
		}
	}
}

// Checks selects checks and overrides severities.
type Checks struct {
	// Disable turns checks off by ID.
	Disable []string `yaml:"disable"`
	// Only, when set, runs just these checks.
	Only []string `yaml:"only"`
	// Severity overrides a check's severity by ID.
	Severity map[string]string `yaml:"severity"`
}

// Parameters are the tunable values of checks; unset ones keep defaults.
type Parameters struct {
	MinUID              *int64   `yaml:"minUID"`
	MaxUID              *int64   `yaml:"maxUID"`
	MinGID              *int64   `yaml:"minGID"`
	MaxGID              *int64   `yaml:"maxGID"`
	CPULimits           *bool    `yaml:"cpuLimits"`
	AllowedCapabilities []string `yaml:"allowedCapabilities"`
	PodSecurityVersion  string   `yaml:"podSecurityVersion"`
	EgressDefaultDeny   *bool    `yaml:"egressDefaultDeny"`
	// KubernetesVersion is the target cluster's version; the scan's
	// --kubernetes-version flag overrides it.
	KubernetesVersion string `yaml:"kubernetesVersion"`
}

// Exemption exempts matching objects from some or all checks. Every
// non-empty selector must match; globs use `*`, and `**` in paths.
type Exemption struct {
	Checks    []string `yaml:"checks"`
	Kind      string   `yaml:"kind"`
	Namespace string   `yaml:"namespace"`
	Name      string   `yaml:"name"`
	Path      string   `yaml:"path"`
	Reason    string   `yaml:"reason"`
	// Expires is a date (YYYY-MM-DD); from that day on the exemption no
	// longer applies and is itself reported.
	Expires string `yaml:"expires"`

	Line    int       `yaml:"-"`
	expires time.Time `yaml:"-"`
}

// Default returns the configuration used when no file is found.
func Default() *Config { return &Config{} }

// Find looks for FileName in dir and its parents.
func Find(start string) (string, bool) {
	abs, err := filepath.Abs(start)
	if err != nil {
		return "", false
	}
	if info, err := os.Stat(abs); err == nil && !info.IsDir() {
		abs = filepath.Dir(abs)
	}
	for {
		p := filepath.Join(abs, FileName)
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
		parent := filepath.Dir(abs)
		if parent == abs {
			return "", false
		}
		abs = parent
	}
}

// Load reads and validates a config file against the known check IDs.
func Load(path string, known func(id string) bool) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	return Parse(path, data, known)
}

// Parse validates config data; errors name the file and line.
func Parse(path string, data []byte, known func(id string) bool) (*Config, error) {
	c := &Config{File: path}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil && err.Error() != "EOF" {
		return nil, fmt.Errorf("%s: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(root.Content) == 0 {
		return c, nil
	}
	dec = yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		return nil, fmt.Errorf("%s: %s", path, cleanYAMLError(err))
	}
	c.File = path
	doc := root.Content[0]
	// at is the line of the value at a path of keys and list indexes,
	// for errors: a config error names its file and line.
	at := func(path ...any) int { return lineOf(doc, path...) }
	if ex := object.Field(doc, "exemptions"); ex != nil {
		for i, n := range ex.Content {
			if i < len(c.Exemptions) {
				c.Exemptions[i].Line = n.Line
			}
		}
	}
	var errs []string
	fail := func(line int, format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		if line > 0 {
			msg = fmt.Sprintf("%s:%d: %s", path, line, msg)
		} else {
			msg = path + ": " + msg
		}
		errs = append(errs, msg)
	}
	checkIDs := func(where string, ids []string, path ...any) {
		for i, id := range ids {
			if !known(id) {
				fail(at(append(path, i)...), "%s: unknown check %q", where, id)
			}
		}
	}
	checkIDs("checks.disable", c.Checks.Disable, "checks", "disable")
	checkIDs("checks.only", c.Checks.Only, "checks", "only")
	for i, id := range c.Checks.Disable {
		if slices.Contains(c.Checks.Only, id) {
			fail(at("checks", "disable", i), "checks.disable: %q is in checks.only too, so it would never run; name it in one of them", id)
		}
	}
	c.severity = map[string]check.Severity{}
	for _, id := range slices.Sorted(maps.Keys(c.Checks.Severity)) {
		if !known(id) {
			fail(at("checks", "severity", id), "checks.severity: unknown check %q", id)
			continue
		}
		sev, err := check.ParseSeverity(c.Checks.Severity[id])
		if err != nil {
			fail(at("checks", "severity", id), "checks.severity.%s: %v", id, err)
			continue
		}
		c.severity[id] = sev
	}
	p := c.Parameters
	for _, v := range []struct {
		name string
		val  *int64
	}{{"minUID", p.MinUID}, {"maxUID", p.MaxUID}, {"minGID", p.MinGID}, {"maxGID", p.MaxGID}} {
		if v.val != nil && (*v.val < 0 || *v.val > 2147483647) {
			fail(at("parameters", v.name), "parameters.%s: %d is not a valid ID (0 to 2147483647)", v.name, *v.val)
		}
	}
	if p.MinUID != nil && p.MaxUID != nil && *p.MaxUID != 0 && *p.MaxUID < *p.MinUID {
		fail(at("parameters", "maxUID"), "parameters: maxUID %d is below minUID %d", *p.MaxUID, *p.MinUID)
	}
	if p.MinGID != nil && p.MaxGID != nil && *p.MaxGID != 0 && *p.MaxGID < *p.MinGID {
		fail(at("parameters", "maxGID"), "parameters: maxGID %d is below minGID %d", *p.MaxGID, *p.MinGID)
	}
	if v := p.PodSecurityVersion; v != "" && v != "latest" && !versionRE.MatchString(v) {
		fail(at("parameters", "podSecurityVersion"), "parameters.podSecurityVersion: %q is not a Kubernetes version (v1.30) or latest", v)
	}
	if v := p.KubernetesVersion; v != "" {
		if _, err := k8sversion.Parse(v); err != nil {
			fail(at("parameters", "kubernetesVersion"), "parameters.kubernetesVersion: %v", err)
		}
	}
	c.validateFix(fail, at)
	c.validateAdmission(fail, at, known)
	c.validateVulnerabilities(fail, at)
	for i := range c.Exemptions {
		e := &c.Exemptions[i]
		checkIDs(fmt.Sprintf("exemptions[%d].checks", i), e.Checks, "exemptions", i, "checks")
		if strings.TrimSpace(e.Reason) == "" {
			fail(e.Line, "exemptions[%d]: a reason is required", i)
		}
		if e.Kind == "" && e.Namespace == "" && e.Name == "" && e.Path == "" {
			fail(e.Line, "exemptions[%d]: set at least one of kind, namespace, name, path", i)
		}
		for _, g := range []struct{ key, glob string }{{"kind", e.Kind}, {"namespace", e.Namespace}, {"name", e.Name}} {
			// filepath.Match checks the whole pattern even against "".
			if _, err := filepath.Match(g.glob, ""); err != nil {
				fail(at("exemptions", i, g.key), "exemptions[%d].%s: %q is not a valid glob (%v), so it would never match", i, g.key, g.glob, err)
			}
		}
		if err := source.ValidGlob(e.Path); err != nil {
			fail(at("exemptions", i, "path"), "exemptions[%d].path: %v, so it would never match", i, err)
		}
		if e.Expires != "" {
			t, err := time.Parse("2006-01-02", e.Expires)
			if err != nil {
				fail(at("exemptions", i, "expires"), "exemptions[%d].expires: %q is not a date (YYYY-MM-DD)", i, e.Expires)
			}
			e.expires = t
		}
	}
	if len(errs) > 0 {
		return nil, errors.New(strings.Join(errs, "\n"))
	}
	return c, nil
}

// validateFix checks the fix section: IDs the checks accept, quantities
// that parse, no default limit below its request.
func (c *Config) validateFix(fail func(line int, format string, args ...any), at func(path ...any) int) {
	p := c.Params()
	for _, v := range []struct {
		name     string
		val      *int64
		min, max int64
	}{{"uid", c.Fix.UID, p.MinUID, p.MaxUID}, {"gid", c.Fix.GID, p.MinGID, p.MaxGID}} {
		if v.val == nil {
			continue
		}
		if *v.val < v.min || (v.max > 0 && *v.val > v.max) || *v.val > 2147483647 {
			fail(at("fix", v.name), "fix.%s: %d is outside the range the checks accept (%d to %s)", v.name, *v.val, v.min, maxText(v.max))
		}
	}
	q := map[string]resource.Quantity{}
	for _, v := range []struct{ kind, res, val string }{
		{"requests", "cpu", c.Fix.Resources.Requests.CPU}, {"requests", "memory", c.Fix.Resources.Requests.Memory},
		{"limits", "cpu", c.Fix.Resources.Limits.CPU}, {"limits", "memory", c.Fix.Resources.Limits.Memory},
	} {
		name := v.kind + "." + v.res
		if v.val == "" {
			continue
		}
		parsed, err := resource.ParseQuantity(v.val)
		if err != nil || parsed.Sign() <= 0 {
			fail(at("fix", "resources", v.kind, v.res), "fix.resources.%s: %q is not a positive quantity (100m, 128Mi)", name, v.val)
			continue
		}
		q[name] = parsed
	}
	for _, r := range []string{"cpu", "memory"} {
		req, ok1 := q["requests."+r]
		lim, ok2 := q["limits."+r]
		if ok1 && ok2 && lim.Cmp(req) < 0 {
			fail(at("fix", "resources", "limits", r), "fix.resources.limits.%s %s is below the request %s", r, lim.String(), req.String())
		}
	}
}

// validateAdmission checks the admission section: known modes, severities,
// check IDs and failure policy; fixable checks in mutate; namespaces that
// are DNS labels.
func (c *Config) validateAdmission(fail func(line int, format string, args ...any), at func(path ...any) int, known func(id string) bool) {
	a := &c.Admission
	mode := func(where, m string, path ...any) {
		if !slices.Contains(Modes(), m) {
			fail(at(path...), "%s: unknown mode %q (want one of %s)", where, m, strings.Join(Modes(), ", "))
		}
	}
	if a.Mode != "" {
		mode("admission.mode", a.Mode, "admission", "mode")
	}
	a.severity = map[check.Severity]string{}
	for _, name := range slices.Sorted(maps.Keys(a.Severity)) {
		sev, err := check.ParseSeverity(name)
		if err != nil {
			fail(at("admission", "severity", name), "admission.severity: %v", err)
			continue
		}
		mode("admission.severity."+name, a.Severity[name], "admission", "severity", name)
		a.severity[sev] = a.Severity[name]
	}
	for _, id := range slices.Sorted(maps.Keys(a.Checks)) {
		if !known(id) {
			fail(at("admission", "checks", id), "admission.checks: unknown check %q", id)
			continue
		}
		mode("admission.checks."+id, a.Checks[id], "admission", "checks", id)
	}
	for i, id := range a.Mutate {
		if !known(id) {
			fail(at("admission", "mutate", i), "admission.mutate: unknown check %q", id)
		}
	}
	for i, ns := range a.ExcludeNamespaces {
		if !dnsLabelRE.MatchString(ns) {
			fail(at("admission", "excludeNamespaces", i), "admission.excludeNamespaces: %q is not a namespace name", ns)
		}
	}
	switch a.FailurePolicy {
	case "", FailurePolicyIgnore, FailurePolicyFail:
	default:
		fail(at("admission", "failurePolicy"), "admission.failurePolicy: %q is neither %s nor %s", a.FailurePolicy, FailurePolicyIgnore, FailurePolicyFail)
	}
}

var dnsLabelRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

// lineOf returns the line of the node at path below n (string steps are
// mapping keys, int steps list indexes), or of the deepest step that
// exists; 0 when not even the first does.
func lineOf(n *yaml.Node, path ...any) int {
	line := 0
	for _, step := range path {
		n = object.Resolve(n)
		if n == nil {
			break
		}
		switch s := step.(type) {
		case string:
			k := object.KeyNode(n, s)
			if k == nil {
				return line
			}
			line, n = k.Line, object.Field(n, s)
		case int:
			if n.Kind != yaml.SequenceNode || s >= len(n.Content) {
				return line
			}
			n = n.Content[s]
		}
		if r := object.Resolve(n); r != nil && r.Line > 0 && n.Kind != yaml.AliasNode {
			line = r.Line
		}
	}
	return line
}

func maxText(max int64) string {
	if max <= 0 {
		return "2147483647"
	}
	return strconv.FormatInt(max, 10)
}

func cleanYAMLError(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n  ")
	msg = strings.ReplaceAll(msg, " in type config.Config", "")
	msg = strings.ReplaceAll(msg, " in type config.Checks", " in checks")
	msg = strings.ReplaceAll(msg, " in type config.Parameters", " in parameters")
	msg = strings.ReplaceAll(msg, " in type config.Exemption", " in exemptions")
	msg = strings.ReplaceAll(msg, " in type config.FixResources", " in fix.resources")
	msg = strings.ReplaceAll(msg, " in type config.Fix", " in fix")
	msg = strings.ReplaceAll(msg, " in type config.Quantities", " in fix.resources")
	msg = strings.ReplaceAll(msg, " in type config.Admission", " in admission")
	msg = strings.ReplaceAll(msg, " in type config.VulnerabilityIgnore", " in vulnerabilities.ignore")
	msg = strings.ReplaceAll(msg, " in type config.Vulnerabilities", " in vulnerabilities")
	msg = strings.ReplaceAll(msg, "not found", "is not a known key")
	return msg
}

// Params returns the check parameters with the file's values applied.
func (c *Config) Params() check.Params {
	p := check.DefaultParams()
	q := c.Parameters
	if q.MinUID != nil {
		p.MinUID = *q.MinUID
	}
	if q.MaxUID != nil {
		p.MaxUID = *q.MaxUID
	}
	if q.MinGID != nil {
		p.MinGID = *q.MinGID
	}
	if q.MaxGID != nil {
		p.MaxGID = *q.MaxGID
	}
	if q.CPULimits != nil {
		p.CPULimits = *q.CPULimits
	}
	if q.AllowedCapabilities != nil {
		p.AllowedCapabilities = q.AllowedCapabilities
	}
	if q.PodSecurityVersion != "" {
		p.PodSecurityVersion = q.PodSecurityVersion
	}
	if q.EgressDefaultDeny != nil {
		p.EgressDefaultDeny = *q.EgressDefaultDeny
	}
	p.KubernetesVersion = q.KubernetesVersion
	return p
}

// Enabled reports whether the check runs.
func (c *Config) Enabled(id string) bool {
	if slices.Contains(c.Checks.Disable, id) {
		return false
	}
	return len(c.Checks.Only) == 0 || slices.Contains(c.Checks.Only, id)
}

// Severity returns the configured severity of a check, or def.
func (c *Config) Severity(id string, def check.Severity) check.Severity {
	if s, ok := c.severity[id]; ok {
		return s
	}
	return def
}

// Expired reports whether the exemption has expired on day now.
func (e *Exemption) Expired(now time.Time) bool {
	return !e.expires.IsZero() && !now.Before(e.expires)
}

// Matches reports whether the exemption covers a finding of check on an
// object (nil for findings outside objects) in file.
func (e *Exemption) Matches(c *Config, checkID string, obj *check.ObjectRef, namespace, file string) bool {
	if len(e.Checks) > 0 {
		found := false
		for _, id := range e.Checks {
			if id == checkID {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	if e.Kind != "" || e.Name != "" || e.Namespace != "" {
		if obj == nil {
			return false
		}
		if !glob(e.Kind, obj.Kind) || !glob(e.Name, obj.Name) || !glob(e.Namespace, namespace) {
			return false
		}
	}
	if e.Path != "" {
		rel := file
		if c.File != "" {
			if abs, err := filepath.Abs(file); err == nil {
				if r, err := filepath.Rel(filepath.Dir(c.File), abs); err == nil {
					rel = r
				}
			}
		}
		if !source.MatchGlob(e.Path, filepath.ToSlash(rel)) {
			return false
		}
	}
	return true
}

func glob(pattern, s string) bool {
	if pattern == "" {
		return true
	}
	ok, err := filepath.Match(pattern, s)
	return err == nil && ok
}
