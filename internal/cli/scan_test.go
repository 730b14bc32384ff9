package cli

import (
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/internal/k8sversion"
)

func TestCalendarWarnings(t *testing.T) {
	fresh, stale := k8sversion.CalendarDate.AddDate(0, 1, 0), k8sversion.CalendarDate.AddDate(0, 7, 0)
	v := k8sversion.Version{Major: 1, Minor: 35}
	if w := calendarWarnings(v, fresh); len(w) != 0 {
		t.Errorf("fresh calendar: %q", w)
	}
	if w := calendarWarnings(v, stale); len(w) != 1 || !strings.Contains(w[0], "more than 6 months ago") {
		t.Errorf("stale calendar: %q", w)
	}
	if w := calendarWarnings(k8sversion.Version{Major: 1, Minor: 99}, fresh); len(w) != 1 || !strings.Contains(w[0], "newer than every release") {
		t.Errorf("unknown version: %q", w)
	}
}
