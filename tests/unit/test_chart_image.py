"""What the cluster walk-through (docs/cluster.md) builds and creates besides the chart: the
container images and the kind cluster. These read the files; tests/real/test_image.py builds
and runs the images.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

from coviu_operator.builders import PROXY_COMMAND, RUN_AS

ROOT = Path(__file__).resolve().parents[2]
CONTAINERFILE = (ROOT / "Containerfile").read_text()
DIGEST = r"@sha256:[0-9a-f]{64}"


def test_the_base_image_is_pinned_by_digest() -> None:
    bases = re.findall(r"^FROM (\S+) AS (\S+)$", CONTAINERFILE, re.MULTILINE)
    stages = {stage: base for base, stage in bases}
    assert len(bases) == len(re.findall(r"^FROM ", CONTAINERFILE, re.MULTILINE))  # every stage is named
    assert {stages["deps"], stages["runtime"]} == {"${PYTHON_IMAGE}"}  # one base: the venv links to its python
    assert set(stages.values()) <= {"${PYTHON_IMAGE}", *stages}
    pinned = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", CONTAINERFILE, re.MULTILINE)
    assert pinned is not None and re.search(rf"python:3\.11-slim-bookworm{DIGEST}$", pinned.group(1))


def test_the_image_runs_as_the_user_the_pods_run_as() -> None:
    assert re.findall(r"^USER (\S+)$", CONTAINERFILE, re.MULTILINE) == [f"{RUN_AS}:{RUN_AS}"]
    values = yaml.safe_load((ROOT / "charts" / "coviu-mcp-operator" / "values.yaml").read_text())
    assert values["podSecurityContext"]["runAsUser"] == RUN_AS


def test_the_image_has_both_commands() -> None:
    commands = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert {"coviu-mcp-operator", PROXY_COMMAND} <= set(commands)
    # The product is the default target: the last stage.
    assert CONTAINERFILE.rstrip().endswith('CMD ["coviu-mcp-operator"]')


def test_the_sandbox_is_a_development_tool_not_part_of_the_product() -> None:
    product = tomllib.loads((ROOT / "pyproject.toml").read_text())
    devtools = tomllib.loads((ROOT / "devtools" / "pyproject.toml").read_text())
    assert "coviu-sandbox" not in product["project"]["scripts"]
    assert devtools["project"]["scripts"] == {"coviu-sandbox": "coviu_sandbox.cli:main"}
    roots = product["tool"]["setuptools"]["packages"]["find"]["where"]
    assert not [package for root in roots for package in ("coviu_sandbox", "coviu_testbed")
                if (ROOT / root / package).exists()]
    # The product stage installs the root distribution alone; only the sandbox stage adds devtools.
    assert re.findall(r"pip install --no-deps (.+?) \\$", CONTAINERFILE, re.MULTILINE) == [".", ". ./devtools"]


def test_everything_copied_into_the_image_is_in_the_build_context() -> None:
    ignore = [line for line in (ROOT / ".containerignore").read_text().splitlines() if not line.startswith("#")]
    assert ignore[0] == "*"  # an allow-list: everything else stays out
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    copied = set()
    for line in re.findall(r"^COPY (?!--from)(.+)$", CONTAINERFILE, re.MULTILINE):
        *sources, _ = line.split()
        copied |= {source.rstrip("/") for source in sources}
    assert copied == allowed
    assert all((ROOT / source).exists() for source in copied)
    docker = ROOT / ".dockerignore"
    assert docker.is_symlink() and docker.resolve() == (ROOT / ".containerignore").resolve()


def test_the_kind_node_runs_the_kubernetes_release_we_test_on() -> None:
    config = yaml.safe_load((ROOT / "kind-config.yaml").read_text())
    assert (config["kind"], config["apiVersion"]) == ("Cluster", "kind.x-k8s.io/v1alpha4")
    (node,) = config["nodes"]
    tested = re.search(r"^\s*k8s\.io/kubernetes (v\S+)", (ROOT / "hack" / "tools" / "go.mod").read_text(),
                       re.MULTILINE)
    assert tested is not None
    assert re.fullmatch(rf"kindest/node:{re.escape(tested.group(1))}{DIGEST}", node["image"])
