"""docs/security.md names the test behind every guarantee and every attack of the review: each
name must be a test (or fixture) that exists, so the page cannot point at something renamed."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# `tests/k8s/test_x.py::test_y`, `k8s/test_x.py::test_y`, `unit/test_x.py`, or `::test_y` for the file before.
REFERENCE = re.compile(r"`(?:((?:tests/)?(?:unit|inproc|real|k8s)/[\w/]+\.py))?(?:::(\w+))?`")


def references(text: str) -> list[tuple[str, str | None]]:
    found, current = [], None
    for match in REFERENCE.finditer(text):
        path, name = match.groups()
        if path is None and name is None:
            continue
        if path is not None:
            current = path if path.startswith("tests/") else f"tests/{path}"
        assert current is not None, f"`::{name}` names no file before it"
        found.append((current, name))
    return found


def test_every_test_the_security_page_names_exists() -> None:
    cited = references((ROOT / "docs" / "security.md").read_text())
    assert len(cited) > 60, "the page cites its tests"
    missing = [f"{path}::{name}" if name else path for path, name in cited
               if not (ROOT / path).is_file()
               or (name and not re.search(rf"^(async )?def {name}\(", (ROOT / path).read_text(), re.MULTILINE))]
    assert not missing, missing
