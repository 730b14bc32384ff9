package limits

import (
	"context"
	"errors"
	"reflect"
	"testing"
)

// TestWithDefaults: every zero field takes its default, and a set one is
// kept, for every field (a field added without a default fails here).
func TestWithDefaults(t *testing.T) {
	if got := (Limits{}).WithDefaults(); got != Default() {
		t.Errorf("zero limits = %+v, want the defaults %+v", got, Default())
	}
	d := reflect.ValueOf(Default())
	for i := range d.NumField() {
		if d.Field(i).IsZero() {
			t.Errorf("%s has no default", d.Type().Field(i).Name)
		}
	}
	l := Limits{DocumentSize: 10}
	if got := l.WithDefaults(); got.DocumentSize != 10 || got.InputSize != Default().InputSize {
		t.Errorf("set field lost or others not defaulted: %+v", got)
	}
	if From(With(context.Background(), l)).DocumentSize != 10 || From(context.Background()) != Default() {
		t.Error("limits do not travel in the context")
	}
}

func TestExceeded(t *testing.T) {
	err := Default().DocumentSizeExceeded()
	var e *Exceeded
	if !errors.As(err, &e) || err.Error() != "exceeds the document size limit of 4 MiB (raise it with --max-document-size)" {
		t.Errorf("%v", err)
	}
	for n, want := range map[int64]string{1 << 30: "1 GiB", 3 << 20: "3 MiB", 2048: "2 KiB", 100: "100 bytes"} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}
