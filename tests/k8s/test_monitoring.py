"""The chart's Grafana dashboard and Prometheus alerts, checked three ways: promtool parses
every rule and every dashboard query (`promtool check rules`), the alerts fire when they
should (`promtool test rules` on monitoring/alerts-test.yaml), and every series and label
they name is exported by a real operator and a real proxy, scraped after real traffic.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from prometheus_client.parser import text_string_to_metric_families

from coviu_operator.settings import env_name
from coviu_testbed.cluster import ControlPlane
from coviu_testbed.cluster.binaries import binary
from coviu_testbed.cluster.waiting import eventually
from coviu_testbed.k8s import ROOT, apply, creds, rfc3339, server
from coviu_testbed.launch import console_script, free_port, running
from tests.real.proxy_process import ProxyProcess, proxy_process
from tests.real.sandbox_process import start_sandbox

CHART = ROOT / "charts" / "coviu-mcp-operator"
PROMTOOL = ROOT / ".cache" / "promtool" / "bin" / "promtool"
ALERTS_TEST = Path(__file__).parent / "monitoring" / "alerts-test.yaml"
RELEASE, NAMESPACE = "cm", "platform"
# Added by Prometheus from the ServiceMonitor targets, not by the processes.
TARGET_LABELS = {"namespace", "service", "pod", "job", "instance"}
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$namespace": ".*"}
Series = dict[str, set[str]]  # metric name -> label names seen on its samples


def promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    if not PROMTOOL.exists():
        pytest.fail(f"{PROMTOOL} is missing: build it with `make promtool` (make test does it)")
    return subprocess.run([str(PROMTOOL), *args], capture_output=True, text=True, timeout=120, cwd=cwd, check=False)


@pytest.fixture(scope="module")
def chart() -> list[dict[str, Any]]:
    out = subprocess.run(
        [str(binary("helm")), "template", RELEASE, str(CHART), "--namespace", NAMESPACE,
         "--set", "metrics.serviceMonitor.enabled=true", "--set", "metrics.prometheusRule.enabled=true",
         "--set", "metrics.grafanaDashboard.enabled=true"],
        capture_output=True, text=True, check=True, timeout=60).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def rule_groups(chart: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [group for doc in chart if doc["kind"] == "PrometheusRule" for group in doc["spec"]["groups"]]


def dashboard(chart: list[dict[str, Any]]) -> dict[str, Any]:
    config_map = next(
        doc for doc in chart if doc["kind"] == "ConfigMap" and doc["metadata"]["name"].endswith("-dashboard")
    )
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    found: dict[str, Any] = json.loads(config_map["data"]["coviu-mcp-servers.json"])
    return found


def dashboard_queries(board: dict[str, Any]) -> list[str]:
    """Every panel query, with Grafana's variables replaced by values Prometheus accepts."""
    queries = []
    for panel in board["panels"]:
        for target in panel["targets"]:
            query = target["expr"]
            for variable, value in GRAFANA_VARIABLES.items():
                query = query.replace(variable, value)
            queries.append(query)
    return queries


def variable_metrics(board: dict[str, Any]) -> list[tuple[str, str]]:
    """(metric, label) of each label_values() template variable."""
    return [tuple(re.fullmatch(r"label_values\((\w+), (\w+)\)", v["query"]["query"]).groups())  # type: ignore[union-attr]
            for v in board["templating"]["list"] if v["type"] == "query"]


def expressions(chart: list[dict[str, Any]]) -> list[str]:
    rules = [rule["expr"] for group in rule_groups(chart) for rule in group["rules"]]
    return rules + dashboard_queries(dashboard(chart))


def test_promtool_checks_every_rule_and_dashboard_query(chart: list[dict[str, Any]], tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"groups": rule_groups(chart)}))
    checked = promtool("check", "rules", str(rules))
    assert checked.returncode == 0 and "SUCCESS" in checked.stdout, checked.stdout + checked.stderr
    assert re.search(r"SUCCESS: (\d+) rules found", checked.stdout).group(1) == "7"  # type: ignore[union-attr]

    queries = dashboard_queries(dashboard(chart))
    recorded = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:query_{index}", "expr": query} for index, query in enumerate(queries)]}]}
    (tmp_path / "dashboard.yaml").write_text(yaml.safe_dump(recorded))
    parsed = promtool("check", "rules", str(tmp_path / "dashboard.yaml"))
    assert parsed.returncode == 0, parsed.stdout + parsed.stderr
    assert len(queries) >= 12


def test_promtool_unit_tests_of_the_alerts(chart: list[dict[str, Any]], tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": rule_groups(chart)}))
    shutil.copy(ALERTS_TEST, tmp_path / ALERTS_TEST.name)
    result = promtool("test", "rules", ALERTS_TEST.name, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def scrape(url: str) -> dict[str, tuple[set[str], float]]:
    """Each sample name with the label names seen on it and the sum of its values."""
    found: dict[str, tuple[set[str], float]] = {}
    for family in text_string_to_metric_families(httpx.get(url, timeout=10).text):
        for sample in family.samples:
            labels, total = found.get(sample.name, (set(), 0.0))
            found[sample.name] = (labels | set(sample.labels), total + sample.value)
    return found


async def proxy_traffic(proxy: ProxyProcess) -> None:
    """A good call, a call with bad arguments, Coviu 429s and a wrong token."""
    async with Client(streamable_http_client(proxy.url), mode="legacy") as client:
        assert not (await client.call_tool("get_single_coviu_team", {})).is_error
        assert (await client.call_tool("list_all_coviu_sessions", {"page_size": "many"})).is_error
        for _ in range(10):
            if (await client.call_tool("list_all_coviu_sessions", {})).is_error:
                break
    async with httpx.AsyncClient() as http:
        assert (await http.post(f"{proxy.base_url}/mcp/not-the-token", json={})).status_code == 404


@pytest.fixture
async def exported(control_plane: ControlPlane, namespace: str) -> AsyncIterator[Series]:
    """The series a real operator process (serving a ready, an invalid and an expiring server)
    and a real proxy process (after `proxy_traffic`) export."""
    metrics_port = free_port()
    env = {env_name("metrics_port"): str(metrics_port), env_name("health_port"): str(free_port())}
    argv = [console_script("coviu-mcp-operator"), "-n", namespace, f"--kubeconfig={control_plane.kubeconfig}"]
    with (running(argv, metrics_port, "/metrics", env, timeout=60) as operator,
          start_sandbox("--rate-limit", "5") as sandbox, proxy_process(sandbox) as proxy):
        soon = rfc3339(datetime.now(UTC) + timedelta(seconds=3))
        apply(control_plane, namespace, creds(namespace), server(namespace, "ready", methods=["read"]),
              server(namespace, "typo", methods=["raed"]), server(namespace, "brief", expiresAt=soon))
        await proxy_traffic(proxy)
        proxy_series = scrape(f"{proxy.admin_url}/metrics")
        assert proxy_series["coviu_mcp_upstream_rate_limited_total"][1] >= 1, "the sandbox never answered 429"

        async def torn_down() -> dict[str, tuple[set[str], float]] | None:
            series = scrape(f"{operator.base_url}/metrics")
            return series if series.get("coviu_operator_teardowns_total", (set(), 0))[1] >= 1 else None

        operator_series = await eventually(torn_down, what="a teardown in the operator's metrics")
        yield {name: labels for name, (labels, _) in {**operator_series, **proxy_series}.items()}


def selectors(expression: str) -> Iterator[tuple[str, set[str]]]:
    """(metric, label names matched on it) for each series selector in a PromQL expression."""
    for match in re.finditer(r"\b(coviu_\w+)\s*(\{[^}]*\})?", expression):
        yield match.group(1), set(re.findall(r"(\w+)\s*(?:=~|!~|!=|=)", match.group(2) or ""))


def test_every_series_and_label_in_the_dashboard_and_alerts_is_exported(
    chart: list[dict[str, Any]], exported: Series,
) -> None:
    problems = []
    for expression in expressions(chart):
        used = list(selectors(expression))
        available = TARGET_LABELS.union(*(exported.get(metric, set()) for metric, _ in used))
        for metric, labels in used:
            if metric not in exported:
                problems.append(f"{metric} is not exported (in: {expression.strip()})")
            elif labels - exported[metric] - TARGET_LABELS:
                problems.append(f"{metric} has no label {sorted(labels - exported[metric])} (in: {expression.strip()})")
        for group in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", expression):
            missing = {label.strip() for label in group.split(",")} - available
            if missing:
                problems.append(f"no series has label(s) {sorted(missing)} (in: {expression.strip()})")
        assert used, f"no Coviu series in {expression}"
    for metric, label in variable_metrics(dashboard(chart)):
        if metric not in exported or label not in exported[metric] | TARGET_LABELS:
            problems.append(f"dashboard variable label_values({metric}, {label}) matches nothing")
    assert not problems, "\n".join(problems)
