{{/* Chart name, or nameOverride. */}}
{{- define "coviu-mcp-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Prefix of every object name: <release>-<chart>, or the release name if it contains the chart name. */}}
{{- define "coviu-mcp-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "coviu-mcp-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object of the release. */}}
{{- define "coviu-mcp-operator.labels" -}}
helm.sh/chart: {{ include "coviu-mcp-operator.chart" . }}
{{ include "coviu-mcp-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: coviu-mcp-operator
{{- end }}

{{/* Labels that select the operator Pod; never change them, Deployment selectors are immutable. */}}
{{- define "coviu-mcp-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "coviu-mcp-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels the operator puts on every proxy Pod (coviu_operator.names.child_labels). */}}
{{- define "coviu-mcp-operator.proxySelector" -}}
matchLabels:
  app.kubernetes.io/name: coviu-mcp-server
  app.kubernetes.io/managed-by: coviu-mcp-operator
{{- end }}

{{- define "coviu-mcp-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "coviu-mcp-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* repository:tag, or repository@digest. */}}
{{- define "coviu-mcp-operator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The namespaces the operator serves, as a JSON list (by default the release's); empty for the whole cluster. */}}
{{- define "coviu-mcp-operator.watchNamespaces" -}}
{{- if eq .Values.watch.scope "namespaced" }}
{{- toJson (.Values.watch.namespaces | default (list .Release.Namespace)) }}
{{- else }}
{{- toJson list }}
{{- end }}
{{- end }}

{{/* The namespaces that get the proxy NetworkPolicy and PodDisruptionBudget, as a JSON list. */}}
{{- define "coviu-mcp-operator.proxyNamespaces" -}}
{{- $namespaces := .Values.proxy.namespaces | default (include "coviu-mcp-operator.watchNamespaces" . | fromJsonArray) }}
{{- if not $namespaces }}
{{- fail "proxy.namespaces must list the proxies' namespaces when watch.scope is cluster and proxy.networkPolicy or proxy.podDisruptionBudget is enabled" }}
{{- end }}
{{- toJson $namespaces }}
{{- end }}
