// Package checks holds every built-in check, one file per check named after
// its ID, each registering itself in init.
package checks

import (
	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/check/clustercheck"
	"github.com/kubeharden/kubeharden/internal/check/dockerfilecheck"
	"github.com/kubeharden/kubeharden/internal/check/imagecheck"
)

var registry check.Registry

func register(c *check.ObjectCheck)               { registry.Register(c) }
func registerDockerfile(c *dockerfilecheck.Check) { registry.Register(c) }
func registerImage(c *imagecheck.Check)           { registry.Register(c) }
func registerCluster(c *clustercheck.Check)       { registry.Register(c) }

// Registry returns the built-in checks.
func Registry() *check.Registry { return &registry }

// seed000 and seed003 name the two articles kubeharden grew from, for
// references.
const (
	seed000       = "seed 000 (container and orchestrator security): "
	seed003       = "seed 003 (securing a front-facing app): "
	pssBaseline   = "Pod Security Standards: baseline"
	pssRestricted = "Pod Security Standards: restricted"
	nsaCISA       = "NSA/CISA Kubernetes Hardening Guidance: "
)
