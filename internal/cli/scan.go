package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubeharden/kubeharden/internal/check/clustercheck"
	"github.com/kubeharden/kubeharden/internal/checks"
	"github.com/kubeharden/kubeharden/internal/k8sversion"
	"github.com/kubeharden/kubeharden/internal/scan"
	"github.com/kubeharden/kubeharden/internal/source"
)

type scanFlags struct {
	report    reportFlags
	exclude   []string
	namespace string
	target    string
	images    imageFlags
	inspect   bool
	render    renderFlags
	kubeVer   string
}

func newScanCommand() *cobra.Command {
	var f scanFlags
	cmd := &cobra.Command{
		Use:   "scan PATH...",
		Short: "Scan manifests, charts, kustomizations and Dockerfiles for security weaknesses",
		Long: `Scan Kubernetes manifests (YAML or JSON, multi-document, List kinds) in
files and directories (recursively; hidden directories skipped), or from
standard input with "-". Every finding names the file, line and column.

A directory with Chart.yaml (or a packaged .tgz chart) is rendered with the
Helm SDK, offline: findings name the template file and the line in the
rendered document. A directory with kustomization.yaml is built with
Kustomize: findings point at the original resource file and line where
Kustomize's origin annotations allow. Templates are never read as raw YAML.

Files named Dockerfile, Containerfile, *.Dockerfile or Dockerfile.* are
read as Dockerfiles (final stage: the last, or --target). With --images, the
images the manifests reference are pulled and inspected too.

--kubernetes-version names the version of the cluster the manifests are
for: deprecated-api judges API versions against it (instead of the newest
release kubeharden knows), and the cluster checks that need only a version
run once, such as cluster-version-supported, whose finding has no file.

Exit codes: 0 when no finding reaches --fail-on, 1 when one does, 2 for a
usage or input error (everything readable is still scanned and reported).`,
		Example: `  kubeharden scan deploy/
  kubeharden scan -o sarif k8s/ > out.sarif
  kubeharden scan --fail-on medium app.yaml
  kubeharden scan -f prod-values.yaml charts/web
  kubeharden scan --kubernetes-version 1.35 k8s/
  helm template ./chart | kubeharden scan -`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runScan(cmd, args, &f) },
	}
	fl := cmd.Flags()
	f.report.register(fl)
	fl.StringArrayVar(&f.exclude, "exclude", nil, "skip paths matching this glob (repeatable; ** matches directories)")
	fl.StringVarP(&f.namespace, "namespace", "n", "", "namespace of objects that set none, as kubectl apply -n would place them")
	fl.StringVar(&f.target, "target", "", "Dockerfile stage that is built (default: the last)")
	fl.StringVar(&f.kubeVer, "kubernetes-version", "", "version of the target cluster (1.35): deprecated-api judges against it and cluster-version-supported runs (default: parameters.kubernetesVersion)")
	fl.BoolVar(&f.inspect, "images", false, "also pull and inspect the images the manifests reference (needs a registry)")
	f.images.register(fl)
	f.render.register(fl)
	return cmd
}

func runScan(cmd *cobra.Command, args []string, f *scanFlags) error {
	for _, g := range f.exclude {
		if err := source.ValidGlob(g); err != nil {
			return usageError("--exclude: %v", err)
		}
	}
	if err := f.images.needImages(f.inspect); err != nil {
		return err
	}
	if f.kubeVer != "" {
		if _, err := k8sversion.Parse(f.kubeVer); err != nil {
			return usageError("--kubernetes-version: %v", err)
		}
	}
	r, err := f.report.prepare(cmd, args)
	if err != nil {
		return err
	}
	if f.kubeVer != "" {
		r.cfg.Parameters.KubernetesVersion = f.kubeVer
	}
	opts := scan.Options{
		Registry:         checks.Registry(),
		Policy:           r.policy(),
		Namespace:        f.namespace,
		Logger:           logger(cmd),
		DockerfileTarget: f.target,
	}
	items := source.Walk(cmd.Context(), args, source.Options{
		Exclude:   f.exclude,
		Stdin:     cmd.InOrStdin(),
		Renderers: f.render.renderers(f.namespace),
	})
	res := scan.Run(cmd.Context(), items, opts)
	if v, err := k8sversion.Parse(opts.Policy.Params().KubernetesVersion); err == nil {
		for _, w := range calendarWarnings(v, opts.Policy.Now) {
			fmt.Fprintf(cmd.ErrOrStderr(), "kubeharden: warning: %s\n", w)
		}
		res = scan.Merge(res, scan.RunCluster(clustercheck.Target{Version: v}, opts))
	}
	if f.inspect {
		ires, err := f.images.inspectRefs(cmd, res.ImageRefs, opts)
		if err != nil {
			return err
		}
		res = scan.Merge(res, ires)
	}
	return r.finish(cmd, res)
}

// calendarWarnings say when the release calendar may not know the target
// version's fate: it is more than k8sversion.StaleAfter months old on the
// policy's day, or the version is newer than every release it lists.
func calendarWarnings(v k8sversion.Version, now time.Time) []string {
	var out []string
	if k8sversion.Stale(now) {
		out = append(out, fmt.Sprintf("the Kubernetes release calendar of this kubeharden is dated %s, more than %d months ago: "+
			"newer releases and end-of-life dates may be missing; upgrade kubeharden",
			k8sversion.CalendarDate.Format(time.DateOnly), k8sversion.StaleAfter))
	}
	cal := k8sversion.Calendar()
	if newest := cal[len(cal)-1].Version; newest.Less(v) {
		out = append(out, fmt.Sprintf("Kubernetes %s is newer than every release in kubeharden's calendar (newest: %s): "+
			"its support and API removals are not judged", v, newest))
	}
	return out
}
