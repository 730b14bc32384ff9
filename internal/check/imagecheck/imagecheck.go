// Package imagecheck is the kind of check that reads a built, flattened
// container image. It lives apart from package check so that code
// importing check does not pull in go-containerregistry.
package imagecheck

import (
	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/image"
	"github.com/kubeharden/kubeharden/internal/vuln"
)

// Check is a rule over one image. Run is called once per image.
type Check struct {
	check.Meta
	Run func(*Pass)
}

// Kind is check.Images.
func (*Check) Kind() check.Target { return check.Images }

// Pass is the state of the image checks running on one image.
type Pass struct {
	check.FilePass
	Image *image.Image
	// Vulnerabilities are the image's known vulnerabilities, already
	// judged by the policy (threshold, ignore list, VEX); nil when no
	// vulnerability source was given (--vuln-db, --vuln-report).
	Vulnerabilities []vuln.Match
}

// Of returns the image checks of r, sorted by ID.
func Of(r *check.Registry) []*Check { return check.Of[*Check](r) }

// Run runs checks on img, reporting findings located at its reference.
// vulns are its vulnerabilities, when a source of them was given.
func Run(checks []*Check, img *image.Image, vulns []vuln.Match, params *check.Params, emit func(check.Finding)) {
	p := &Pass{FilePass: check.NewFilePass(img.Ref, params, emit), Image: img, Vulnerabilities: vulns}
	for _, c := range checks {
		p.Use(&c.Meta)
		c.Run(p)
	}
}
