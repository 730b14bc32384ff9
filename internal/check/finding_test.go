package check

import (
	"testing"
	"unsafe"

	"github.com/kubeharden/kubeharden/internal/object"
)

// TestFindingSize keeps a Finding at 104 bytes. The N100k scan (607,871
// findings) holds every finding twice at its peak, in the workers' chunks
// and in their merge, so each byte more is over a megabyte of RSS: at 120
// bytes the scan went over its 300 MiB floor. Fields few findings have go
// in Extra.
func TestFindingSize(t *testing.T) {
	if n := unsafe.Sizeof(Finding{}); n > 104 {
		t.Errorf("check.Finding is %d bytes, want at most 104: put rarely set fields in check.Extra", n)
	}
}

// TestFindingAccessors: the getters read through a nil Extra, and each
// setter sets only its own field.
func TestFindingAccessors(t *testing.T) {
	var f Finding
	if f.Suppression() != nil || f.Trace() != nil || f.Vulnerability() != nil {
		t.Fatal("a zero finding has extras")
	}
	s, tr, v := &Suppression{Kind: "config"}, &object.Trace{Line: 3}, &Vulnerability{ID: "CVE-1"}
	f.SetSuppression(s)
	f.SetTrace(tr)
	f.SetVulnerability(v)
	if f.Suppression() != s || f.Trace() != tr || f.Vulnerability() != v {
		t.Fatalf("extras %+v, want %p %p %p", f.Extra, s, tr, v)
	}
	f.SetTrace(nil)
	if f.Suppression() != s || f.Trace() != nil || f.Vulnerability() != v {
		t.Fatalf("after SetTrace(nil): %+v", f.Extra)
	}
}

// TestFindingSettersCopy: findings are copied by value and copies share
// Extra; a setter on one must leave the others as they were.
func TestFindingSettersCopy(t *testing.T) {
	v := &Vulnerability{ID: "CVE-1"}
	a := Finding{Check: "image-vulnerability", Extra: &Extra{Vulnerability: v}}
	shared := a.Extra
	b := a
	b.SetSuppression(&Suppression{Kind: "vex"})
	if a.Suppression() != nil || a.Extra != shared || *shared != (Extra{Vulnerability: v}) {
		t.Errorf("SetSuppression on a copy changed the original: %+v", a.Extra)
	}
	if b.Suppression() == nil || b.Vulnerability() != v || b.Extra == shared {
		t.Errorf("copy: %+v, want the suppression and the vulnerability in a new Extra", b.Extra)
	}
	c := a
	c.SetTrace(&object.Trace{Line: 1})
	c.SetVulnerability(nil)
	if a.Vulnerability() != v || a.Trace() != nil {
		t.Errorf("setters on a copy changed the original: %+v", a.Extra)
	}
	if c.Vulnerability() != nil || c.Trace() == nil {
		t.Errorf("copy: %+v", c.Extra)
	}
}

// TestFindingSettersClear: a finding whose extras are all cleared has no
// Extra, as one that never had any, and setting nil on none allocates
// nothing (every object finding of a scan goes through SetSuppression).
func TestFindingSettersClear(t *testing.T) {
	f := Finding{Extra: &Extra{Suppression: &Suppression{}, Trace: &object.Trace{}}}
	f.SetSuppression(nil)
	if f.Extra == nil {
		t.Fatal("Extra dropped while the trace was still set")
	}
	f.SetTrace(nil)
	if f.Extra != nil {
		t.Errorf("Extra %+v after clearing everything, want nil", f.Extra)
	}
	f.SetVulnerability(nil)
	if f.Extra != nil {
		t.Errorf("SetVulnerability(nil) made an Extra")
	}
	if n := testing.AllocsPerRun(100, func() { f.SetSuppression(nil) }); n != 0 {
		t.Errorf("SetSuppression(nil) on a finding without extras: %v allocations, want 0", n)
	}
}
