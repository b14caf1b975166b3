{{/* Chart name, truncated to the 63 characters a label value may hold. */}}
{{- define "inference-server.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name: the release name, unless it already contains the chart name. */}}
{{- define "inference-server.fullname" -}}
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

{{- define "inference-server.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "inference-server.selectorLabels" -}}
app.kubernetes.io/name: {{ include "inference-server.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "inference-server.labels" -}}
helm.sh/chart: {{ include "inference-server.chart" . }}
{{ include "inference-server.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: server
app.kubernetes.io/part-of: inference-server
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "inference-server.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "inference-server.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "inference-server.apiKeysSecretName" -}}
{{- default (printf "%s-api-keys" (include "inference-server.fullname" .)) .Values.apiKeys.existingSecret }}
{{- end }}

{{- define "inference-server.image" -}}
{{- $tag := default (printf "%s-cuda" .Chart.AppVersion) .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* The server's YAML configuration: values.config with the chart's playground and CORS
     settings added (set those through playground.enabled and corsAllowOrigins only). */}}
{{- define "inference-server.serverConfig" -}}
{{- range list "playground" "cors_allow_origins" }}
{{- if hasKey $.Values.config . }}
{{- fail (printf "config.%s is set by the chart: use playground.enabled and corsAllowOrigins" .) }}
{{- end }}
{{- end }}
{{- $config := deepCopy .Values.config }}
{{- $_ := set $config "playground" .Values.playground.enabled }}
{{- $_ := set $config "cors_allow_origins" .Values.corsAllowOrigins }}
{{- toYaml $config }}
{{- end }}

{{/* Where the server reads its files inside the container. */}}
{{- define "inference-server.configDir" -}}/etc/inference{{- end }}
{{- define "inference-server.apiKeysDir" -}}/run/secrets/inference{{- end }}
