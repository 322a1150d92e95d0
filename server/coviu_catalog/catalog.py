"""Loading the catalog data file into validated, immutable records."""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from .errors import CatalogError
from .models import Record
from .naming import tool_name


class Catalog(BaseModel):
    model_config = ConfigDict(frozen=True)

    records: tuple[Record, ...]

    @model_validator(mode="after")
    def _unique(self) -> Catalog:
        seen: dict[str, Record] = {}
        for record in self.records:
            name = tool_name(record)
            if name in seen:
                raise ValueError(f"two records produce the tool name {name!r}")
            seen[name] = record
        routes = [(r.http_method, r.path) for r in self.records]
        if len(routes) != len(set(routes)):
            raise ValueError("two records describe the same HTTP method and path")
        return self

    @functools.cached_property
    def by_tool_name(self) -> dict[str, Record]:
        return {tool_name(record): record for record in self.records}

    @property
    def tags(self) -> tuple[str, ...]:
        return tuple(sorted({tag for record in self.records for tag in record.tags}))


def parse_catalog(data: Any, source: str = "catalog") -> Catalog:
    if not isinstance(data, dict) or not isinstance(data.get("records"), list):
        raise CatalogError(f"{source}: expected a mapping with a 'records' list")
    try:
        return Catalog(records=tuple(data["records"]))
    except ValidationError as exc:
        raise CatalogError(f"{source}: {exc}") from exc


def load_catalog(path: Path | None = None) -> Catalog:
    """The packaged Coviu catalog, or another catalog file (for tests and forks)."""
    if path is None:
        return _packaged()
    return parse_catalog(_load_yaml(path.read_text()), str(path))


@functools.cache
def _packaged() -> Catalog:
    text = resources.files(__package__).joinpath("records/coviu.yaml").read_text()
    return parse_catalog(_load_yaml(text), "records/coviu.yaml")


def _load_yaml(text: str) -> Any:
    """Safe YAML loading with libyaml when PyYAML has it: a tenth of the pure-Python parser's
    time for the catalog, which every proxy parses at start."""
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - a safe loader
