package scan

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/kubeharden/kubeharden/internal/check"
)

// TestMerge: ordering the workers' sorted chunks gives what one sort of
// everything gives, for disjoint chunks, overlapping ones, chunks that span
// files, and deferred findings merged in.
func TestMerge(t *testing.T) {
	order := newOrder()
	order.add("a.yaml", 0)
	order.add("b.yaml", 1)
	f := func(file string, line int) check.Finding {
		return check.Finding{Check: "c", Message: "m", Location: check.Location{File: file, Line: line, Column: 1}}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		var chunks [][]check.Finding
		var all []check.Finding
		line := 1
		for range 1 + rng.IntN(6) {
			var ch []check.Finding
			for range 1 + rng.IntN(5) {
				file := "a.yaml"
				if rng.IntN(2) == 0 {
					file = "b.yaml"
				}
				if round%3 != 0 {
					file = []string{"a.yaml", "b.yaml"}[len(chunks)%2]
					line += rng.IntN(3)
				} else {
					line = 1 + rng.IntN(40)
				}
				ch = append(ch, f(file, line))
			}
			sortFindings(ch, nil)
			chunks = append(chunks, ch)
			all = append(all, ch...)
		}
		var extra []check.Finding
		for range rng.IntN(3) {
			extra = append(extra, f("a.yaml", 1+rng.IntN(40)))
		}
		all = append(all, extra...)
		rng.Shuffle(len(chunks), func(i, j int) { chunks[i], chunks[j] = chunks[j], chunks[i] })
		got := merge(chunks, len(all), slices.Clone(extra), order)
		sortFindings(all, order)
		if !slices.EqualFunc(got, all, func(a, b check.Finding) bool { return order.cmp(&a, &b) == 0 }) {
			t.Fatalf("round %d: merge gave\n%v\nwant\n%v", round, got, all)
		}
	}
}
