// Command kubectl is kubectl, built from the k8s.io/kubectl module at the
// control plane's version, for the tests that need a real kubectl (the
// kubectl plugin test of kubeharden's krew manifest).
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
)

func main() {
	if err := cli.RunNoErrOutput(cmd.NewDefaultKubectlCommand()); err != nil {
		os.Exit(1)
	}
}
