{{/* The name of the release's objects: the release name when it holds the chart's name. */}}
{{- define "kubeharden.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The audit's name: its Pods' app.kubernetes.io/name label too. */}}
{{- define "kubeharden.auditName" -}}
{{- printf "%s-audit" (include "kubeharden.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
metadata.namespace of namespaced objects. A release in "default" leaves it
unset: Helm places the objects in the release namespace all the same, and
that is what `kubeharden scan deploy/` renders (install in a namespace of
kubeharden's own, deploy/README.md).
*/}}
{{- define "kubeharden.namespace" -}}
{{- if ne .Release.Namespace "default" }}
  namespace: {{ .Release.Namespace }}
{{- end -}}
{{- end -}}

{{- define "kubeharden.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/part-of: kubeharden
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* The webhook Pods' selector. */}}
{{- define "kubeharden.selector" -}}
app.kubernetes.io/name: {{ include "kubeharden.fullname" . }}
app.kubernetes.io/component: webhook
{{- end -}}

{{- define "kubeharden.image" -}}
{{- $ref := printf "%s:%s" .Values.image.repository .Values.image.tag -}}
{{- if .Values.image.digest -}}{{- $ref = printf "%s@%s" $ref .Values.image.digest -}}{{- end -}}
{{- $ref -}}
{{- end -}}

{{/* The namespaces never sent to the webhook. */}}
{{- define "kubeharden.excluded" -}}
{{- $ns := list "kube-system" "kube-node-lease" .Release.Namespace -}}
{{- range .Values.webhook.excludeNamespaces }}{{ $ns = append $ns . }}{{ end -}}
{{- toJson ($ns | uniq) -}}
{{- end -}}

{{/* The serving certificate's cert-manager name, for the CA injection annotation. */}}
{{- define "kubeharden.certName" -}}
{{- printf "%s-serving" (include "kubeharden.fullname" .) -}}
{{- end -}}

{{/* What the two webhook registrations share: .root is the top context. */}}
{{- define "kubeharden.webhookCommon" -}}
clientConfig:
  service:
    name: {{ include "kubeharden.fullname" .root }}
    namespace: {{ .root.Release.Namespace }}
    path: {{ .path }}
    port: 443
  {{- if .ca }}
  caBundle: {{ .ca }}
  {{- end }}
failurePolicy: {{ .root.Values.webhook.failurePolicy }}
timeoutSeconds: {{ .root.Values.webhook.timeoutSeconds }}
sideEffects: None
admissionReviewVersions: [v1]
matchPolicy: Equivalent
namespaceSelector:
  matchExpressions:
  - key: kubernetes.io/metadata.name
    operator: NotIn
    values: {{ include "kubeharden.excluded" .root }}
rules:
{{- range .root.Values.webhook.rules }}
- apiGroups: {{ toJson .apiGroups }}
  apiVersions: {{ toJson .apiVersions }}
  resources: {{ toJson .resources }}
  operations: {{ toJson $.operations }}
  scope: Namespaced
{{- end }}
{{- end -}}
