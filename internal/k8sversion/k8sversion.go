// Package k8sversion is kubeharden's dated knowledge of Kubernetes
// releases: the support calendar of each minor version and the API
// versions each release deprecated and removed. Both are tables, not
// rules ("the last three minors" goes stale the day a release ships), and
// both carry the date they were written (CalendarDate) so that a
// kubeharden binary can tell when its own knowledge may be out of date.
//
// Refreshing: update the tables from the release calendar
// (https://kubernetes.io/releases/) and the deprecated API migration guide
// (https://kubernetes.io/docs/reference/using-api/deprecation-guide/), then
// move CalendarDate to the day of the update.
package k8sversion

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// CalendarDate is the day the tables of this package were last checked
// against the upstream release calendar and migration guide.
var CalendarDate = day("2026-12-01")

// StaleAfter is how old the tables may get before kubeharden warns that
// they may be out of date: a new minor ships every four months, so after
// six the newest release is likely missing and the end-of-life dates of
// the ones listed are closer than they look.
const StaleAfter = 6 // months

// Stale reports whether, on day now, the tables are older than StaleAfter
// months.
func Stale(now time.Time) bool { return now.After(CalendarDate.AddDate(0, StaleAfter, 0)) }

// Version is a Kubernetes minor version, such as 1.35.
type Version struct{ Major, Minor int }

// String writes the version as 1.35.
func (v Version) String() string { return strconv.Itoa(v.Major) + "." + strconv.Itoa(v.Minor) }

// Less orders versions.
func (v Version) Less(w Version) bool {
	if v.Major != w.Major {
		return v.Major < w.Major
	}
	return v.Minor < w.Minor
}

// versionRE accepts what people and API servers write: 1.35, v1.35,
// 1.35.2, v1.35.2-gke.1200 or v1.35.2+k3s1.
var versionRE = regexp.MustCompile(`^v?(\d{1,4})\.(\d{1,4})(?:\.\d{1,6})?(?:[-+][0-9A-Za-z.+-]*)?$`)

// Parse reads a Kubernetes version; the patch and any build suffix are
// ignored, since support and APIs change by minor.
func Parse(s string) (Version, error) {
	m := versionRE.FindStringSubmatch(s)
	if m == nil {
		return Version{}, fmt.Errorf("%q is not a Kubernetes version (1.35, v1.35.2)", s)
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	if major != 1 {
		return Version{}, fmt.Errorf("%q is not a Kubernetes 1.x version", s)
	}
	return Version{Major: major, Minor: minor}, nil
}

// Release is one minor version's place in the support calendar. Upstream
// supports a minor for about fourteen months: twelve of full support, then
// two of maintenance mode (critical security and dependency fixes only)
// until the end of life, after which nothing is patched.
type Release struct {
	Version     Version
	Released    time.Time
	Maintenance time.Time
	EndOfLife   time.Time
}

// Phase is where a release stands on a given day.
type Phase int

// Phases, in the order a release goes through them.
const (
	Unreleased Phase = iota
	Supported
	MaintenanceMode
	EndOfLife
)

// Phase returns the release's phase on day now.
func (r *Release) Phase(now time.Time) Phase {
	switch {
	case now.Before(r.Released):
		return Unreleased
	case now.Before(r.Maintenance):
		return Supported
	case now.Before(r.EndOfLife):
		return MaintenanceMode
	}
	return EndOfLife
}

// calendar is the upstream release calendar
// (https://kubernetes.io/releases/, and endoflife.date for the releases
// that left it), oldest first. Each release's end of life is the 28th of
// the month about fourteen months after its release, maintenance mode
// two months before.
var calendar = []Release{
	rel(19, "2020-08-26", "2021-08-28", "2021-10-28"),
	rel(20, "2020-12-08", "2021-12-28", "2022-02-28"),
	rel(21, "2021-04-08", "2022-04-28", "2022-06-28"),
	rel(22, "2021-08-04", "2022-08-28", "2022-10-28"),
	rel(23, "2021-12-07", "2022-12-28", "2023-02-28"),
	rel(24, "2022-05-03", "2023-05-28", "2023-07-28"),
	rel(25, "2022-08-23", "2023-08-28", "2023-10-28"),
	rel(26, "2022-12-09", "2023-12-28", "2024-02-28"),
	rel(27, "2023-04-11", "2024-04-28", "2024-06-28"),
	rel(28, "2023-08-15", "2024-08-28", "2024-10-28"),
	rel(29, "2023-12-13", "2024-12-28", "2025-02-28"),
	rel(30, "2024-04-17", "2025-04-28", "2025-06-28"),
	rel(31, "2024-08-13", "2025-08-28", "2025-10-28"),
	rel(32, "2024-12-11", "2025-12-28", "2026-02-28"),
	rel(33, "2025-04-23", "2026-04-28", "2026-06-28"),
	rel(34, "2025-08-27", "2026-08-27", "2026-10-27"),
	rel(35, "2025-12-17", "2026-12-28", "2027-02-28"),
	rel(36, "2026-04-22", "2027-04-28", "2027-06-28"),
	rel(37, "2026-08-19", "2027-08-28", "2027-10-28"),
}

func rel(minor int, released, maintenance, eol string) Release {
	return Release{Version: Version{1, minor}, Released: day(released), Maintenance: day(maintenance), EndOfLife: day(eol)}
}

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// Calendar returns the releases the calendar knows, oldest first.
func Calendar() []Release { return calendar }

// Lookup returns the calendar's entry for v's minor.
func Lookup(v Version) (*Release, bool) {
	for i := range calendar {
		if calendar[i].Version == v {
			return &calendar[i], true
		}
	}
	return nil, false
}

// Oldest is the oldest release of the calendar: every older minor reached
// its end of life before this one did.
func Oldest() *Release { return &calendar[0] }

// Latest is the newest release of the calendar, released by CalendarDate:
// the target of the version checks when none is given.
func Latest() Version {
	for i := len(calendar) - 1; i >= 0; i-- {
		if !calendar[i].Released.After(CalendarDate) {
			return calendar[i].Version
		}
	}
	return calendar[0].Version
}

// OldestSupported returns the oldest release that is in full support on
// day now (not in maintenance mode), the least a cluster should upgrade
// to; false when the calendar knows none, which means it is stale.
func OldestSupported(now time.Time) (Version, bool) {
	for i := range calendar {
		if calendar[i].Phase(now) == Supported {
			return calendar[i].Version, true
		}
	}
	return Version{}, false
}

// Days counts the whole days from a to b (negative when b is before a).
func Days(a, b time.Time) int {
	a = time.Date(a.Year(), a.Month(), a.Day(), 0, 0, 0, 0, time.UTC)
	b = time.Date(b.Year(), b.Month(), b.Day(), 0, 0, 0, 0, time.UTC)
	return int(b.Sub(a).Hours() / 24)
}
