// Package dockerfilecheck is the kind of check that reads a Dockerfile.
// It lives apart from package check so that code importing check does not
// pull in BuildKit's parser.
package dockerfilecheck

import (
	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/dockerfile"
)

// Check is a rule over one Dockerfile. Run is called once per Dockerfile.
type Check struct {
	check.Meta
	Run func(*Pass)
	// Fixable marks the checks that the Dockerfile fixer rewrites; that
	// fixer runs the checks and fixes their findings, as object fixes do.
	Fixable bool
	// Needs is what the fix needs beyond the Dockerfile.
	Needs check.Requirement
}

// Kind is check.Dockerfiles.
func (*Check) Kind() check.Target { return check.Dockerfiles }

// FixNeeds implements check.Fixer.
func (c *Check) FixNeeds() (check.Requirement, bool) { return c.Needs, c.Fixable }

// Pass is the state of the Dockerfile checks running on one Dockerfile.
type Pass struct {
	check.FilePass
	Dockerfile *dockerfile.File
}

// Of returns the Dockerfile checks of r, sorted by ID.
func Of(r *check.Registry) []*Check { return check.Of[*Check](r) }

// Run runs checks on df, reporting findings located in file to emit.
func Run(checks []*Check, df *dockerfile.File, file string, params *check.Params, emit func(check.Finding)) {
	p := &Pass{FilePass: check.NewFilePass(file, params, emit), Dockerfile: df}
	for _, c := range checks {
		p.Use(&c.Meta)
		c.Run(p)
	}
}
