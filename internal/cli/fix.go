package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/checks"
	"github.com/kubeharden/kubeharden/internal/config"
	"github.com/kubeharden/kubeharden/internal/digest"
	"github.com/kubeharden/kubeharden/internal/fix"
	"github.com/kubeharden/kubeharden/internal/fix/dockerfix"
	"github.com/kubeharden/kubeharden/internal/fix/helmfix"
	"github.com/kubeharden/kubeharden/internal/fix/kustomizefix"
	"github.com/kubeharden/kubeharden/internal/limits"
	"github.com/kubeharden/kubeharden/internal/policy"
	"github.com/kubeharden/kubeharden/internal/source"
	"github.com/kubeharden/kubeharden/internal/source/helm"
)

type fixFlags struct {
	write          bool
	checks         []string
	uid, gid       int64
	configFile     string
	resources      bool
	resolveDigests bool
	digestsFile    string
	ociLayouts     []string
	offline        bool
	insecure       bool
	kustomizePatch bool
	force          bool
	exitCode       bool
	valuesOut      string
	render         renderFlags
}

func newFixCommand() *cobra.Command {
	var f fixFlags
	cmd := &cobra.Command{
		Use:   "fix PATH...",
		Short: "Rewrite manifests and Dockerfiles so that the fixable checks pass, keeping comments and layout",
		Long: `Fix the security weaknesses kubeharden knows how to fix, in place and with
the smallest diff: comments, key order, quoting, indentation and untouched
documents keep their bytes.

Manifests (files, directories, "-" for standard input): run as non-root
with a high UID and GID and fsGroup, no privilege escalation, not
privileged, a read-only root filesystem with an emptyDir at /tmp, no
service account token, all capabilities dropped, RuntimeDefault seccomp
and AppArmor profiles; with --resources, default requests and limits (each
marked to tune); with --resolve-digests, images pinned by digest.

Dockerfiles: a numeric high USER in the final stage (with the
addgroup/adduser line on alpine and debian bases), CMD and ENTRYPOINT in
exec form when they use no shell syntax, and with --resolve-digests base
images pinned by digest.

Helm charts are not rewritten (templates are not YAML): the values the
chart itself offers come first (its switches, such as seccompProfile.enable
or serviceAccount.automount, then its securityContext, resources and
per-component objects), each proved by rendering the chart with it: it must
clear findings and add none. They are printed with the findings each
clears, or written to --values-out; the fixes no value reaches follow as a
diff of the templates where the template line is certain, else as a list. Kustomizations:
their local resource files are fixed, or with --kustomize-patch a patch
file is written next to the kustomization and listed under its patches,
leaving shared bases alone.

Objects suppressed by an ignore.kubeharden.io/<check-id> annotation or
exempted in .kubeharden.yaml, and checks it disables, are left alone.
Without --write, a unified diff is printed and nothing changes on disk;
with "-", the fixed YAML goes to standard output. --write follows symbolic
links, keeps hard links, owner, group and mode, and leaves read-only files
alone unless --force. A summary of the fixes, the risky ones to test, and
the findings left alone (and why) goes to standard error, grouped by check
(the first objects of each, all with -v).

Exit codes: 0 on success, 2 for a usage or input error (every other file
is still fixed). With --exit-code, 1 when something was fixed (with
--write: files changed) or would be (a diff, chart values), as git diff
--exit-code does: the pre-commit hook and CI use it to fail a run that
changed files.`,
		Example: `  kubeharden fix deploy/
  kubeharden fix --write deploy.yaml Dockerfile
  kubeharden fix --checks run-as-non-root,seccomp-profile --write k8s/
  kubeharden fix --resources --resolve-digests --digests digests.txt --write k8s/
  kubeharden fix charts/web                      # values that fix the chart
  kubeharden fix --kustomize-patch --write overlays/prod
  kubectl get deploy web -o yaml | kubeharden fix - > web.yaml`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runFix(cmd, args, &f) },
	}
	fl := cmd.Flags()
	fl.BoolVarP(&f.write, "write", "w", false, "write the fixes to the files (atomically) instead of printing a diff")
	fl.StringSliceVar(&f.checks, "checks", nil, "fix only these check IDs (comma-separated; default: every fixable check)")
	fl.Int64Var(&f.uid, "uid", fix.DefaultID, "UID set where runAsUser is missing or out of range, and in Dockerfile USER (default: fix.uid of the config, else 50000)")
	fl.Int64Var(&f.gid, "gid", fix.DefaultID, "GID set where runAsGroup or fsGroup is missing or out of range (default: fix.gid of the config, else 50000)")
	fl.StringVar(&f.configFile, "config", "", "config file (default: "+config.FileName+" found upward from the first path)")
	fl.BoolVar(&f.resources, "resources", false, "write default resource requests and limits where missing (fix.resources of the config), each marked to tune")
	fl.BoolVar(&f.resolveDigests, "resolve-digests", false, "pin images and FROM lines by digest, looked up in --digests, --oci-layout, then the registry")
	fl.StringVar(&f.digestsFile, "digests", "", "file of REF@sha256:DIGEST (or REF DIGEST) lines for --resolve-digests")
	fl.StringArrayVar(&f.ociLayouts, "oci-layout", nil, "OCI image layout directory whose tagged images --resolve-digests may use (repeatable)")
	fl.BoolVar(&f.offline, "offline", false, "with --resolve-digests, never ask a registry")
	fl.BoolVar(&f.insecure, "insecure", false, "allow plain-HTTP registries for --resolve-digests")
	fl.BoolVar(&f.kustomizePatch, "kustomize-patch", false, "fix a kustomization with a patch file listed in it instead of editing its resources")
	fl.BoolVar(&f.force, "force", false, "with --write, write read-only files too (their mode is kept)")
	fl.BoolVar(&f.exitCode, "exit-code", false, "exit 1 when something was fixed, or would be without --write (pre-commit, CI)")
	fl.StringVar(&f.valuesOut, "values-out", "", "for a Helm chart, write the values that fix it to this file (a values file for -f) instead of printing them")
	f.render.register(fl)
	return cmd
}

// fixRun is the state of one fix command.
type fixRun struct {
	cmd    *cobra.Command
	ctx    context.Context
	f      *fixFlags
	cfg    *config.Config
	base   fix.Options
	stderr *bufio.Writer
	sum    *summary
	failed bool
	done   map[string]bool // files already fixed
	// mfixer fixes manifests; current is the file it is fixing.
	mfixer  *fix.Fixer
	current string
}

// allFixable lists every check fix rewrites.
func allFixable() []string {
	var ids []string
	for _, m := range checks.Registry().All() {
		if m.Fixable {
			ids = append(ids, m.ID)
		}
	}
	return ids
}

// needsOf says what a check's fix needs.
func needsOf(id string) check.Requirement {
	if m := checks.Registry().Get(id); m != nil {
		return m.FixNeeds
	}
	return check.NeedsNothing
}

func runFix(cmd *cobra.Command, args []string, f *fixFlags) error {
	cfg, err := loadConfig(f.configFile, args)
	if err != nil {
		return usageError("%v", err)
	}
	params := cfg.Params()
	verbose, _ := cmd.Flags().GetBool("verbose")
	// Buffered: a run over many objects writes its summary in one go.
	stderr := bufio.NewWriterSize(cmd.ErrOrStderr(), 64<<10)
	defer func() { _ = stderr.Flush() }()
	r := &fixRun{cmd: cmd, ctx: cmd.Context(), f: f, cfg: cfg, stderr: stderr, done: map[string]bool{}, sum: newSummary(verbose)}
	uid, gid := f.uid, f.gid
	if !cmd.Flags().Changed("uid") && cfg.Fix.UID != nil {
		uid = *cfg.Fix.UID
	}
	if !cmd.Flags().Changed("gid") && cfg.Fix.GID != nil {
		gid = *cfg.Fix.GID
	}
	if !params.UIDAllowed(uid) {
		return usageError("--uid %d is outside the UID range the checks accept (minUID %d, maxUID %d)", uid, params.MinUID, params.MaxUID)
	}
	if !params.GIDAllowed(gid) {
		return usageError("--gid %d is outside the GID range the checks accept (minGID %d, maxGID %d)", gid, params.MinGID, params.MaxGID)
	}
	enabled := map[string]bool{}
	// A fix that needs nothing always runs.
	supplied := map[check.Requirement]bool{check.NeedsNothing: true, check.NeedsResources: f.resources, check.NeedsDigests: f.resolveDigests}
	for _, id := range allFixable() {
		if cfg.Enabled(id) && supplied[needsOf(id)] {
			enabled[id] = true
		}
	}
	if len(f.checks) > 0 {
		only := map[string]bool{}
		for _, c := range f.checks {
			c = strings.TrimSpace(c)
			switch {
			case !slices.Contains(allFixable(), c):
				return usageError("--checks: %q is not a fixable check (fixable: %s)", c, strings.Join(allFixable(), ", "))
			case !supplied[needsOf(c)]:
				return usageError("--checks: %s needs %s", c, needsOf(c).Flag())
			case !cfg.Enabled(c):
				return usageError("--checks: %s is disabled by %s", c, cfg.File)
			}
			only[c] = true
		}
		enabled = only
	}
	if !f.resolveDigests && (f.digestsFile != "" || len(f.ociLayouts) > 0 || f.offline) {
		return usageError("--digests, --oci-layout and --offline only work with --resolve-digests")
	}
	r.base = fix.Options{FixValues: check.FixValues{UID: uid, GID: gid}, Checks: enabled,
		Policy: policy.New(cfg, checks.Registry(), time.Time{})}
	if f.resources {
		res := fix.DefaultResources
		q := cfg.Fix.Resources
		for _, v := range []struct {
			dst *string
			src string
		}{
			{&res.RequestsCPU, q.Requests.CPU}, {&res.RequestsMemory, q.Requests.Memory},
			{&res.LimitsCPU, q.Limits.CPU}, {&res.LimitsMemory, q.Limits.Memory},
		} {
			if v.src != "" {
				*v.dst = v.src
			}
		}
		if !params.CPULimits && q.Limits.CPU == "" {
			res.LimitsCPU = ""
		}
		r.base.Resources = &res
	}
	if f.resolveDigests {
		res, err := digest.New(digest.Options{MappingFile: f.digestsFile, Layouts: f.ociLayouts, Offline: f.offline, Insecure: f.insecure, Limits: limits.From(cmd.Context())})
		if err != nil {
			return usageError("--resolve-digests: %v", err)
		}
		ctx := cmd.Context()
		r.base.Resolve = func(ref string) (string, error) { return res.Digest(ctx, ref) }
	}

	files, errs := source.Expand(args, nil)
	r.failed = len(errs) > 0
	for _, e := range errs {
		fmt.Fprintf(r.stderr, "kubeharden: input error: %v\n", e)
	}
	for _, file := range files {
		if r.ctx.Err() != nil {
			break
		}
		switch file.Kind {
		case source.Manifest:
			r.manifest(file.Path)
		case source.Dockerfile:
			r.dockerfile(file.Path)
		case source.HelmChart:
			r.chart(file.Path)
		case source.Kustomization:
			r.kustomization(file.Path)
		}
	}
	if err := r.ctx.Err(); err != nil {
		// What was written before the signal is summarized; nothing
		// was written after it.
		r.sum.print(r.stderr, f.write)
		return fmt.Errorf("fix interrupted: %w", err)
	}
	r.sum.print(r.stderr, f.write)
	if r.failed {
		return &exitError{code: ExitError}
	}
	if f.exitCode && r.sum.fixes > 0 {
		return &exitError{code: ExitFindings}
	}
	return nil
}

// inputError reports an error of one file and goes on with the others.
func (r *fixRun) inputError(err error) {
	fmt.Fprintf(r.stderr, "kubeharden: input error: %v\n", err)
	r.failed = true
}

// options are the fix options for one file: the policy decides what is
// suppressed or exempted, for every fixer alike.
func (r *fixRun) options(path string) fix.Options {
	o := r.base
	o.Skip = func(s fix.Skipped) { r.sum.skip(path, s) }
	return o
}

// manifest fixes one YAML file: stdin goes to stdout, a file gets a diff
// or, with --write, its new content.
func (r *fixRun) manifest(path string) {
	if r.done[filepath.Clean(path)] {
		return
	}
	r.done[filepath.Clean(path)] = true
	data, err := r.read(path)
	if err != nil {
		r.inputError(err)
		return
	}
	out, applied, err := r.fixer(path).ManifestAt(r.ctx, path, data)
	if r.ctx.Err() != nil {
		return
	}
	if err != nil {
		r.inputError(source.Error{File: path, Message: err.Error(), Err: err})
		return
	}
	r.output(path, data, out, applied)
}

// fixer returns the manifest fixer for path: one for the run, with the
// skipped findings reported against path.
func (r *fixRun) fixer(path string) *fix.Fixer {
	r.current = path
	if r.mfixer == nil {
		o := r.base
		o.Skip = func(s fix.Skipped) { r.sum.skip(r.current, s) }
		r.mfixer = fix.New(o)
	}
	return r.mfixer
}

// dockerfile fixes one Dockerfile.
func (r *fixRun) dockerfile(path string) {
	data, err := r.read(path)
	if err != nil {
		r.inputError(err)
		return
	}
	opts := r.options(path)
	out, applied, skipped, err := dockerfix.Dockerfile(path, data, opts)
	if r.ctx.Err() != nil {
		return
	}
	if err != nil {
		r.inputError(source.Error{File: path, Message: err.Error(), Err: err})
		return
	}
	for _, s := range skipped {
		opts.Skip(s)
	}
	r.output(path, data, out, applied)
}

// read reads an input, a regular file or standard input, up to the input
// size limit.
func (r *fixRun) read(path string) ([]byte, error) {
	var data []byte
	var err error
	l := limits.From(r.ctx)
	if path == source.Stdin {
		data, err = io.ReadAll(io.LimitReader(r.cmd.InOrStdin(), l.InputSize+1))
	} else {
		data, err = fix.ReadFile(path, l.InputSize+1)
	}
	switch {
	case errors.Is(err, fix.ErrNotRegular):
		return nil, source.Error{File: path, Message: "not a regular file: only regular files are read", Err: err}
	case err != nil:
		return nil, source.Error{File: path, Message: source.DescribeFSError(err), Err: err}
	case int64(len(data)) > l.InputSize:
		err := l.InputSizeExceeded()
		return nil, source.Error{File: path, Message: err.Error(), Err: err}
	}
	return data, nil
}

// write writes a fixed file with --write: through its symbolic links,
// keeping its links, owner and mode; never after the run was interrupted.
func (r *fixRun) write(path string, data []byte) error {
	if err := r.ctx.Err(); err != nil {
		return err
	}
	err := fix.Write(r.ctx, path, data, fix.WriteOptions{Force: r.f.force})
	if errors.Is(err, fix.ErrReadOnly) {
		return fmt.Errorf("%w; left as it is", err)
	}
	return err
}

// output writes a fixed file: to stdout for stdin, in place with --write,
// else as a diff.
func (r *fixRun) output(path string, data, out []byte, applied []fix.Applied) {
	if r.ctx.Err() != nil {
		return
	}
	var err error
	switch {
	case path == source.Stdin:
		_, err = r.cmd.OutOrStdout().Write(out)
	case len(applied) == 0:
	case r.f.write:
		err = r.write(path, out)
	default:
		_, err = io.WriteString(r.cmd.OutOrStdout(), fix.UnifiedDiff("a/"+path, "b/"+path, string(data), string(out)))
	}
	if err != nil {
		if r.ctx.Err() == nil {
			r.inputError(source.Error{File: path, Message: err.Error(), Err: err})
		}
		return
	}
	r.sum.add(path, applied)
}

// chart prints the values that fix a Helm chart (or writes them to
// --values-out) and the template edits no value reaches; the chart itself
// is never rewritten.
func (r *fixRun) chart(path string) {
	values, err := helm.DefaultValues(path)
	if err != nil {
		r.inputError(source.Error{File: path, Message: err.Error(), Err: err})
		return
	}
	keys, err := helm.ValueKeys(path)
	if err != nil {
		r.inputError(source.Error{File: path, Message: err.Error(), Err: err})
		return
	}
	hopts := r.f.render.helmOptions("")
	adv, err := helmfix.AdviseChart(r.cmd.Context(), keys, values, func(ctx context.Context, extra []string) ([]source.Document, []source.Error) {
		o := hopts
		o.Set = append(slices.Clone(hopts.Set), extra...)
		return helm.Render(ctx, path, o)
	}, r.options(path))
	if err != nil {
		r.inputError(fmt.Errorf("%s: %w", path, err))
		return
	}
	for _, s := range adv.Skipped {
		r.sum.skip(path, s)
	}
	if adv.Fixes == 0 {
		return
	}
	w := r.cmd.OutOrStdout()
	if len(adv.Values) > 0 {
		snippet, err := helmfix.ValuesYAML(adv.Values)
		if err != nil {
			r.inputError(fmt.Errorf("%s: %w", path, err))
			return
		}
		fmt.Fprintf(w, "# %s: Helm templates are not rewritten. The chart's own values fix what\n# they can, each proved by rendering the chart with it (it clears findings\n# and adds none):\n", path)
		for _, s := range adv.Values {
			fmt.Fprintf(w, "#   %s: %s\n", s.Set, s.ClearsSummary())
		}
		if r.f.valuesOut != "" {
			if err := os.WriteFile(r.f.valuesOut, snippet, 0o644); err != nil {
				r.inputError(source.Error{File: r.f.valuesOut, Message: "writing values: " + source.DescribeFSError(err), Err: err})
				return
			}
			fmt.Fprintf(w, "# written to %s: render or install with -f %s\n", r.f.valuesOut, r.f.valuesOut)
		} else {
			fmt.Fprintf(w, "# add them to your values file:\n%s", snippet)
		}
	}
	if len(adv.Edits) > 0 {
		diff, rest := helmfix.TemplateDiff(adv.Edits)
		if diff != "" {
			fmt.Fprintf(w, "# %s: no chart value reaches these fixes; edit the templates:\n%s", path, diff)
		}
		if len(rest) > 0 {
			fmt.Fprintf(w, "# %s: no chart value reaches these fixes, and no template line is certain for them:\n", path)
			for _, e := range rest {
				fmt.Fprintf(w, "#   %s: %s: set %s to %s\n", e.File, e.Object, e.Path, strings.ReplaceAll(e.Value, "\n", " "))
			}
		}
	}
	for _, s := range adv.Values {
		r.sum.add(path, s.Fixes)
	}
	for _, e := range adv.Edits {
		r.sum.add(e.File, []fix.Applied{e.Applied})
	}
	if r.f.write {
		fmt.Fprintf(r.stderr, "kubeharden: %s: a Helm chart is never rewritten; apply the values above\n", path)
	}
}

// kustomization fixes a kustomization: its local resource files, or with
// --kustomize-patch a patch file listed in it.
func (r *fixRun) kustomization(dir string) {
	build := func(ctx context.Context, d string) ([]source.Document, []source.Error) {
		return r.f.render.renderers("")[source.Kustomization](ctx, d)
	}
	if !r.f.kustomizePatch {
		docs, errs := build(r.cmd.Context(), dir)
		for _, e := range errs {
			r.inputError(e)
		}
		var files []string
		for _, d := range docs {
			if d.Locate == nil || slices.Contains(files, d.File) {
				continue
			}
			if info, err := os.Stat(d.File); err == nil && info.Mode().IsRegular() {
				files = append(files, d.File)
			}
		}
		for _, p := range files {
			r.manifest(p)
		}
		return
	}
	res, err := kustomizefix.Patch(r.cmd.Context(), dir, build, r.options(dir))
	if err != nil {
		r.inputError(err)
		return
	}
	paths := make([]string, 0, len(res.Files))
	for p := range res.Files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		old, err := os.ReadFile(p)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			r.inputError(source.Error{File: p, Message: source.DescribeFSError(err), Err: err})
			return
		}
		if r.ctx.Err() != nil {
			return
		}
		if r.f.write {
			if err := r.write(p, res.Files[p]); err != nil {
				r.inputError(source.Error{File: p, Message: err.Error(), Err: err})
				return
			}
		} else {
			io.WriteString(r.cmd.OutOrStdout(), fix.UnifiedDiff("a/"+p, "b/"+p, string(old), string(res.Files[p])))
		}
	}
	r.sum.add(filepath.Join(dir, kustomizefix.PatchFile), res.Applied)
}

// listed is how many objects a summary line names before "and N more"
// (without -v): enough to find the pattern, few enough that a run over
// 100,000 objects prints a screen, not 67 MB.
const listed = 3

// summary collects what a fix run did, grouped as it is printed: the
// fixes by check, the risky ones by risk, the findings left alone by
// check and reason. It keeps counts and the first objects of each group,
// not every fix.
type summary struct {
	verbose bool
	// fixes counts the checks applied to objects (a check applied to an
	// object of a file counts once).
	fixes int
	// objects counts the objects fixed.
	objects int
	checks  groups
	risks   groups
	skipped groups
}

func newSummary(verbose bool) *summary { return &summary{verbose: verbose} }

// groups are named lists of objects, in the order they were first seen.
type groups struct {
	order []string
	by    map[string]*group
}

// group is a count and the first objects.
type group struct {
	n     int
	first []string
}

func (g *groups) add(key, what string, verbose bool) {
	if g.by == nil {
		g.by = map[string]*group{}
	}
	x := g.by[key]
	if x == nil {
		x = &group{}
		g.by[key] = x
		g.order = append(g.order, key)
	}
	x.n++
	if len(x.first) < listed || verbose {
		x.first = append(x.first, what)
	}
}

// add counts the fixes applied to the objects of one file.
func (s *summary) add(file string, applied []fix.Applied) {
	type key struct{ obj, check, risk string }
	seen := map[key]bool{}
	for _, a := range applied {
		where := a.Object + " (" + file + ")"
		if k := (key{a.Object, "", ""}); !seen[k] {
			seen[k] = true
			s.objects++
		}
		if k := (key{a.Object, a.Check, ""}); !seen[k] {
			seen[k] = true
			s.fixes++
			s.checks.add(a.Check, where, s.verbose)
		}
		if k := (key{a.Object, "", a.Risk}); a.Risky && !seen[k] {
			seen[k] = true
			s.risks.add(a.Risk, where, s.verbose)
		}
	}
}

// skip records a finding left alone in file.
func (s *summary) skip(file string, sk fix.Skipped) {
	where := file
	if sk.Line > 0 {
		where += ":" + strconv.Itoa(sk.Line)
	}
	s.skipped.add(sk.Check+"\x00"+sk.Reason, sk.Object+" ("+where+")", s.verbose)
}

// objects names the objects of a group: "Pod/a (a.yaml)", or "3 objects:
// Pod/a (a.yaml), Pod/b (a.yaml), Pod/c (a.yaml) and 97 more".
func (g *group) objects() string {
	if g.n == 1 {
		return g.first[0]
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d objects: %s", g.n, strings.Join(g.first, ", "))
	if more := g.n - len(g.first); more > 0 {
		fmt.Fprintf(&b, " and %d more", more)
	}
	return b.String()
}

// print writes the summary: the findings left alone (and why), the fixes
// by check, the risky ones by risk.
func (s *summary) print(w io.Writer, write bool) {
	for _, k := range s.skipped.order {
		check, reason, _ := strings.Cut(k, "\x00")
		fmt.Fprintf(w, "kubeharden: not fixed: %s on %s: %s\n", check, s.skipped.by[k].objects(), reason)
	}
	if s.fixes == 0 {
		fmt.Fprintln(w, "kubeharden: nothing to fix")
		return
	}
	verb := "would apply"
	if write {
		verb = "applied"
	}
	noun := "fixes"
	if s.fixes == 1 {
		noun = "fix"
	}
	objects := ""
	if s.objects > 1 {
		objects = fmt.Sprintf(" to %d objects", s.objects)
	}
	fmt.Fprintf(w, "kubeharden: %s %d %s%s:\n", verb, s.fixes, noun, objects)
	for _, c := range s.checks.order {
		fmt.Fprintf(w, "  %s on %s\n", c, s.checks.by[c].objects())
	}
	for _, risk := range s.risks.order {
		fmt.Fprintf(w, "kubeharden: test these: %s on %s\n", risk, s.risks.by[risk].objects())
	}
}
