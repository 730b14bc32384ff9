{{- define "sub.labels" -}}
app: sub
tier: backend
{{- end }}
