{{/*
Helpers of the meltano-cloud chart. Deliberately plain (values, if, range,
toYaml | nindent, include, quote, default, required, eq): test/deploy-config
renders the chart with its own small renderer, which refuses anything else.
*/}}

{{/* Prefix of every object name. */}}
{{- define "meltano-cloud.fullname" -}}
{{ .Release.Name }}
{{- end }}

{{- define "meltano-cloud.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "meltano-cloud.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end }}

{{- define "meltano-cloud.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The Secret every process reads its sensitive settings from. */}}
{{- define "meltano-cloud.envFrom" -}}
- secretRef:
    name: {{ required "existingSecret is required (the Secret holding DATABASE_URL, REDIS_URL, MASTER_KEY, SESSION_SECRET)" .Values.existingSecret | quote }}
{{- end }}

{{/* Plain environment of the API, the worker and the migration Job (list items of `env`). */}}
{{- define "meltano-cloud.env" -}}
- name: NODE_ENV
  value: "production"
- name: HOST
  value: "0.0.0.0"
- name: PORT
  value: {{ .Values.api.port | quote }}
- name: SHUTDOWN_TIMEOUT_MS
  value: {{ .Values.shutdownTimeoutMs | quote }}
- name: EXECUTOR
  value: {{ .Values.executor.type | quote }}
{{- if .Values.publicUrl }}
- name: PUBLIC_URL
  value: {{ .Values.publicUrl | quote }}
{{- end }}
{{- if .Values.ingress.enabled }}
{{- if .Values.ingress.trustProxy }}
- name: TRUST_PROXY
  value: {{ .Values.ingress.trustProxy | quote }}
{{- end }}
{{- end }}
{{- if eq .Values.executor.type "kubernetes" }}
- name: K8S_API_URL
  value: {{ .Values.executor.kubernetes.apiUrl | quote }}
- name: K8S_NAMESPACE
  value: {{ .Values.runs.namespace | quote }}
- name: K8S_MELTANO_IMAGE
  value: {{ .Values.executor.kubernetes.meltanoImage | quote }}
- name: K8S_GIT_IMAGE
  value: {{ .Values.executor.kubernetes.gitImage | quote }}
- name: K8S_RUN_CPU
  value: {{ .Values.executor.kubernetes.runCpu | quote }}
- name: K8S_RUN_MEMORY
  value: {{ .Values.executor.kubernetes.runMemory | quote }}
- name: K8S_JOB_TTL_SECONDS
  value: {{ .Values.executor.kubernetes.jobTtlSeconds | quote }}
{{- if .Values.executor.kubernetes.pluginCacheClaim }}
- name: K8S_PLUGIN_CACHE_PVC
  value: {{ .Values.executor.kubernetes.pluginCacheClaim | quote }}
{{- end }}
- name: K8S_STATE_API_URL
  value: "http://{{ include "meltano-cloud.fullname" . }}-api.{{ .Release.Namespace }}.svc:{{ .Values.service.port }}"
{{- end }}
{{- range $name, $value := .Values.env }}
{{- if $value }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/* Writable scratch space: the root filesystem is read-only. */}}
{{- define "meltano-cloud.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit }}
{{- end }}
