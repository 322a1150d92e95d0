"""Errors raised while loading or filtering the catalog; each message names what is wrong.

    CatalogError                 the catalog data or a filter over it is unusable
    ├── UnknownFilterValueError  a `methods` or `tags` entry that matches nothing the catalog knows
    └── EmptySelectionError      valid filters that leave no tool
"""

from __future__ import annotations


class CatalogError(Exception):
    """The catalog data or a filter over it is unusable."""


class UnknownFilterValueError(CatalogError):
    """A `methods` or `tags` entry that matches nothing the catalog knows."""


class EmptySelectionError(CatalogError):
    """The filters are valid but leave no tool: a server with no tools is a configuration error."""
