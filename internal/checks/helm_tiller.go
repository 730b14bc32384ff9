package checks

import (
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/imageref"
	"github.com/kubeharden/kubeharden/internal/object"
)

// Helm 2's server, Tiller, must not be deployed: most installs gave it
// cluster-admin and left its gRPC port open without TLS or authentication,
// so any pod that reaches it can install anything with full rights. Helm 3
// has no server at all.
//
// Objects: workloads (any kind with a pod spec), Services and
// ServiceAccounts; one finding per object, on the strongest sign.
// Fields: a container's image (gcr.io/kubernetes-helm/tiller,
// ghcr.io/helm/tiller, any repository whose path ends in /tiller);
// metadata.name of a Deployment, Service or ServiceAccount (tiller-deploy,
// tiller); metadata.labels or the pod template's labels (app=helm with
// name=tiller, as helm init sets them)
// Allowed: none of these
func init() {
	register(&check.ObjectCheck{
		Meta: check.Meta{
			ID:       "helm-tiller",
			Title:    "Helm 2 Tiller deployed",
			Severity: check.High,
			Description: "Tiller is the in-cluster server of Helm 2, which reached its end of life in November 2020. " +
				"helm init deployed it without TLS or authentication on its gRPC port 44134, and most installs bound its service account to cluster-admin " +
				"so that it could install any chart: any pod that can reach the port, or anyone who can use the service account, can create or change anything in the cluster. " +
				"Helm 3 has no server; it acts with the credentials of the user who runs it.",
			Remediation: "Migrate the releases to Helm 3 (the helm-2to3 plugin converts them), then delete the tiller-deploy Deployment and Service, " +
				"the tiller ServiceAccount and its ClusterRoleBinding, and the release ConfigMaps Tiller kept in its namespace.",
			References: []string{
				seed000 + "get rid of Helm 2 when Helm 3 releases",
				nsaCISA + "authentication and authorization",
			},
		},
		Applies: tillerApplies,
		Run:     helmTiller,
	})
}

// tillerKinds are the kinds helm init creates, which are matched by name,
// and how messages say what such an object does for Tiller.
var tillerKinds = map[string]struct{ noun, does string }{
	"Deployment":     {"deployment", "runs Helm 2's Tiller"},
	"Service":        {"service", "exposes Helm 2's Tiller"},
	"ServiceAccount": {"service account", "is the service account of Helm 2's Tiller"},
}

func tillerApplies(o *object.Object) bool {
	_, named := tillerKinds[o.Kind]
	return named || o.HasPodSpec()
}

// tillerWhy ends every message: what Tiller exposes, and the way out.
const tillerWhy = ": Tiller holds cluster-admin in most installs and serves gRPC without authentication on port 44134; " +
	"Helm 3 has no server, migrate and remove Tiller"

func helmTiller(p *check.Pass) {
	o := p.Object
	if p.Pod != nil {
		found := false
		for _, c := range p.Pod.Containers {
			if tillerImage(c.Image.V) {
				p.Report(c.Image.Ref, "%s runs Helm 2's Tiller (image %q)%s", c.Describe(), c.Image.V, tillerWhy)
				found = true
			}
		}
		if found {
			return
		}
	}
	k, named := tillerKinds[o.Kind]
	what := func() string {
		if !named {
			k.noun, k.does = strings.ToLower(o.Kind), "runs Helm 2's Tiller"
		}
		return k.noun + " " + strconv.Quote(o.Name) + " " + k.does
	}
	var podLabels *yaml.Node
	if p.Pod != nil {
		podLabels = object.Get(p.Pod.MetaNode, "labels")
	}
	switch {
	case named && (o.Name == "tiller-deploy" || o.Name == "tiller"):
		md := object.Get(o.Node, "metadata")
		p.Report(o.MetadataRef().Child("name", object.KeyNode(md, "name")), "%s (by name)%s", what(), tillerWhy)
	case o.Labels["app"] == "helm" && o.Labels["name"] == "tiller":
		p.Report(tillerLabelRef(o.MetadataRef(), object.Get(o.Node, "metadata")), "%s (labels app=helm, name=tiller)%s", what(), tillerWhy)
	case object.GetStr(podLabels, "app") == "helm" && object.GetStr(podLabels, "name") == "tiller":
		p.Report(tillerLabelRef(p.Pod.Meta, p.Pod.MetaNode), "%s (pod labels app=helm, name=tiller)%s", what(), tillerWhy)
	}
}

// tillerImage reports whether an image reference names a Tiller
// repository: its last path component is tiller, whatever the registry
// (gcr.io/kubernetes-helm/tiller, ghcr.io/helm/tiller, mirrors).
func tillerImage(image string) bool {
	if !strings.Contains(strings.ToLower(image), "tiller") {
		return false // the common case, without parsing
	}
	path := ""
	if r, err := imageref.Parse(image); err == nil {
		path = r.Path
	} else {
		// Not a valid reference (a template placeholder, stray spaces):
		// drop digest and tag the simple way.
		path, _, _ = strings.Cut(strings.TrimSpace(image), "@")
		if i := strings.LastIndexByte(path, ':'); i > strings.LastIndexByte(path, '/') {
			path = path[:i]
		}
		path = strings.ToLower(path)
	}
	return path == "tiller" || strings.HasSuffix(path, "/tiller")
}

// tillerLabelRef points at the name=tiller label below a metadata mapping.
func tillerLabelRef(meta object.Ref, md *yaml.Node) object.Ref {
	labels := object.Get(md, "labels")
	return meta.Child("labels", object.KeyNode(md, "labels")).Child("name", object.KeyNode(labels, "name"))
}
