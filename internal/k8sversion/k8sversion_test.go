package k8sversion

import (
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Version
		ok   bool
	}{
		{"1.35", Version{1, 35}, true},
		{"v1.35", Version{1, 35}, true},
		{"1.35.2", Version{1, 35}, true},
		{"v1.32.9-eks-1a2b3c", Version{1, 32}, true},
		{"v1.34.1+k3s1", Version{1, 34}, true},
		{"v1.37.0-alpha.2", Version{1, 37}, true},
		{"", Version{}, false},
		{"1", Version{}, false},
		{"1.x", Version{}, false},
		{"2.0", Version{}, false},
		{"latest", Version{}, false},
		{"1.35.2.1", Version{}, false},
		{" 1.35", Version{}, false},
	} {
		got, err := Parse(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("Parse(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// TestCalendar keeps the table consistent: one entry per minor, in order,
// each supported about fourteen months with two of maintenance mode, and
// 1.28 to 1.37 at least.
func TestCalendar(t *testing.T) {
	cal := Calendar()
	for i, r := range cal {
		if i > 0 && r.Version != (Version{1, cal[i-1].Version.Minor + 1}) {
			t.Errorf("%v follows %v", r.Version, cal[i-1].Version)
		}
		if !r.Released.Before(r.Maintenance) || !r.Maintenance.Before(r.EndOfLife) {
			t.Errorf("%v: dates out of order", r.Version)
		}
		if m := months(r.Maintenance, r.EndOfLife); m != 2 {
			t.Errorf("%v: maintenance mode lasts %d months, want 2", r.Version, m)
		}
		if m := months(r.Released, r.EndOfLife); m < 13 || m > 15 {
			t.Errorf("%v: supported %d months, want about 14", r.Version, m)
		}
	}
	for minor := 28; minor <= 37; minor++ {
		if _, ok := Lookup(Version{1, minor}); !ok {
			t.Errorf("1.%d is not in the calendar", minor)
		}
	}
	if got := Latest(); got != (Version{1, 37}) {
		t.Errorf("Latest() = %v, want 1.37 (released by %v)", got, CalendarDate)
	}
}

func months(a, b time.Time) int {
	return (b.Year()-a.Year())*12 + int(b.Month()) - int(a.Month())
}

func TestPhase(t *testing.T) {
	r, _ := Lookup(Version{1, 32})
	for _, tc := range []struct {
		day  string
		want Phase
	}{
		{"2024-12-10", Unreleased},
		{"2024-12-11", Supported},
		{"2025-12-27", Supported},
		{"2025-12-28", MaintenanceMode},
		{"2026-02-27", MaintenanceMode},
		{"2026-02-28", EndOfLife},
	} {
		if got := r.Phase(day(tc.day)); got != tc.want {
			t.Errorf("1.32 on %s: phase %d, want %d", tc.day, got, tc.want)
		}
	}
	if v, ok := OldestSupported(day("2026-01-01")); !ok || v != (Version{1, 33}) {
		t.Errorf("OldestSupported(2026-01-01) = %v, %v; want 1.33", v, ok)
	}
}

func TestStale(t *testing.T) {
	if Stale(CalendarDate.AddDate(0, 6, 0)) {
		t.Error("stale on the day it turns six months old")
	}
	if !Stale(CalendarDate.AddDate(0, 6, 1)) {
		t.Error("not stale after six months")
	}
}

func TestDays(t *testing.T) {
	if got := Days(day("2025-10-28"), time.Date(2026, 1, 1, 23, 59, 0, 0, time.UTC)); got != 65 {
		t.Errorf("Days = %d, want 65", got)
	}
	if got := Days(day("2026-02-28"), day("2026-01-01")); got != -58 {
		t.Errorf("Days = %d, want -58", got)
	}
}

// TestAPIs keeps the migration table consistent: every API deprecated
// before it is removed, and a replacement or a note for each.
func TestAPIs(t *testing.T) {
	if len(apis) < 50 {
		t.Errorf("only %d APIs", len(apis))
	}
	for k, a := range apis {
		if k != [2]string{a.APIVersion, a.Kind} {
			t.Errorf("%v: keyed as %v", a, k)
		}
		if !a.Deprecated.Less(a.Removed) {
			t.Errorf("%s %s: deprecated in %v, not before its removal in %v", a.APIVersion, a.Kind, a.Deprecated, a.Removed)
		}
		if (a.Replacement == "") == (a.Note == "") {
			t.Errorf("%s %s: want a replacement or a note", a.APIVersion, a.Kind)
		}
	}
	if a, ok := LookupAPI("batch/v1beta1", "CronJob"); !ok || a.Removed != (Version{1, 25}) || a.Replacement != "batch/v1" {
		t.Errorf("batch/v1beta1 CronJob: %+v, %v", a, ok)
	}
	if _, ok := LookupAPI("batch/v1", "CronJob"); ok {
		t.Error("batch/v1 CronJob is not deprecated")
	}
}
