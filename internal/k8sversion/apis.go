package k8sversion

// API is a group, version and kind that a Kubernetes release deprecated
// and a later one stopped serving.
type API struct {
	APIVersion, Kind string
	// Deprecated is the release that deprecated it, Removed the first
	// release that no longer serves it.
	Deprecated, Removed Version
	// Replacement is the apiVersion to migrate to; "" when nothing
	// replaces the kind, and then Note says what to do instead.
	Replacement, Note string
}

// apis are the deprecated API migration guide's entries
// (https://kubernetes.io/docs/reference/using-api/deprecation-guide/), for
// the kinds a manifest declares. Alpha versions, which no cluster serves
// by default, and kinds only the API server creates are left out.
var apis = func() map[[2]string]API {
	m := map[[2]string]API{}
	add := func(apiVersion string, deprecated, removed int, replacement string, kinds ...string) {
		for _, k := range kinds {
			m[[2]string{apiVersion, k}] = API{APIVersion: apiVersion, Kind: k, Deprecated: Version{1, deprecated}, Removed: Version{1, removed}, Replacement: replacement}
		}
	}
	const psa = "enforce the Pod Security Standards with Pod Security Admission (namespace label pod-security.kubernetes.io/enforce) instead"
	psp := func(apiVersion string, deprecated, removed int) {
		m[[2]string{apiVersion, "PodSecurityPolicy"}] = API{APIVersion: apiVersion, Kind: "PodSecurityPolicy", Deprecated: Version{1, deprecated}, Removed: Version{1, removed}, Note: psa}
	}
	// 1.16: the workload, NetworkPolicy and PodSecurityPolicy APIs of
	// extensions, and the apps betas.
	add("extensions/v1beta1", 9, 16, "apps/v1", "DaemonSet", "Deployment", "ReplicaSet")
	add("apps/v1beta1", 9, 16, "apps/v1", "Deployment", "StatefulSet", "ControllerRevision")
	add("apps/v1beta2", 9, 16, "apps/v1", "DaemonSet", "Deployment", "ReplicaSet", "StatefulSet", "ControllerRevision")
	add("extensions/v1beta1", 9, 16, "networking.k8s.io/v1", "NetworkPolicy")
	psp("extensions/v1beta1", 11, 16)
	// 1.22: the v1beta1 APIs that went GA around 1.16 to 1.19.
	add("admissionregistration.k8s.io/v1beta1", 16, 22, "admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")
	add("apiextensions.k8s.io/v1beta1", 16, 22, "apiextensions.k8s.io/v1", "CustomResourceDefinition")
	add("apiregistration.k8s.io/v1beta1", 19, 22, "apiregistration.k8s.io/v1", "APIService")
	add("authentication.k8s.io/v1beta1", 19, 22, "authentication.k8s.io/v1", "TokenReview")
	add("authorization.k8s.io/v1beta1", 19, 22, "authorization.k8s.io/v1", "LocalSubjectAccessReview", "SelfSubjectAccessReview", "SubjectAccessReview")
	add("certificates.k8s.io/v1beta1", 19, 22, "certificates.k8s.io/v1", "CertificateSigningRequest")
	add("coordination.k8s.io/v1beta1", 19, 22, "coordination.k8s.io/v1", "Lease")
	add("extensions/v1beta1", 14, 22, "networking.k8s.io/v1", "Ingress")
	add("networking.k8s.io/v1beta1", 19, 22, "networking.k8s.io/v1", "Ingress", "IngressClass")
	add("rbac.authorization.k8s.io/v1beta1", 17, 22, "rbac.authorization.k8s.io/v1", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")
	add("scheduling.k8s.io/v1beta1", 14, 22, "scheduling.k8s.io/v1", "PriorityClass")
	add("storage.k8s.io/v1beta1", 19, 22, "storage.k8s.io/v1", "CSIDriver", "CSINode", "StorageClass", "VolumeAttachment")
	// 1.25.
	add("batch/v1beta1", 21, 25, "batch/v1", "CronJob")
	add("discovery.k8s.io/v1beta1", 21, 25, "discovery.k8s.io/v1", "EndpointSlice")
	add("events.k8s.io/v1beta1", 19, 25, "events.k8s.io/v1", "Event")
	add("autoscaling/v2beta1", 22, 25, "autoscaling/v2", "HorizontalPodAutoscaler")
	add("policy/v1beta1", 21, 25, "policy/v1", "PodDisruptionBudget")
	psp("policy/v1beta1", 21, 25)
	add("node.k8s.io/v1beta1", 20, 25, "node.k8s.io/v1", "RuntimeClass")
	// 1.26.
	add("flowcontrol.apiserver.k8s.io/v1beta1", 23, 26, "flowcontrol.apiserver.k8s.io/v1", "FlowSchema", "PriorityLevelConfiguration")
	add("autoscaling/v2beta2", 23, 26, "autoscaling/v2", "HorizontalPodAutoscaler")
	// 1.27.
	add("storage.k8s.io/v1beta1", 24, 27, "storage.k8s.io/v1", "CSIStorageCapacity")
	// 1.29.
	add("flowcontrol.apiserver.k8s.io/v1beta2", 26, 29, "flowcontrol.apiserver.k8s.io/v1", "FlowSchema", "PriorityLevelConfiguration")
	// 1.32.
	add("flowcontrol.apiserver.k8s.io/v1beta3", 29, 32, "flowcontrol.apiserver.k8s.io/v1", "FlowSchema", "PriorityLevelConfiguration")
	return m
}()

// LookupAPI returns the deprecation of an apiVersion and kind, if any.
func LookupAPI(apiVersion, kind string) (API, bool) {
	a, ok := apis[[2]string{apiVersion, kind}]
	return a, ok
}
