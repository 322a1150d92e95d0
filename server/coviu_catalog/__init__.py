"""The Coviu API catalog: documentation records from which tools are generated.

The MCP proxy generates its tools from it and the operator resolves filters against it;
it imports neither of them (an import contract in pyproject.toml holds it to that).
"""

from .catalog import Catalog, load_catalog, parse_catalog
from .errors import CatalogError, EmptySelectionError, UnknownFilterValueError
from .filters import select
from .models import DEFAULT_API_BASE_URL, MethodClass, Pagination, Record
from .naming import tool_name

__all__ = [
    "DEFAULT_API_BASE_URL",
    "Catalog",
    "CatalogError",
    "EmptySelectionError",
    "MethodClass",
    "Pagination",
    "Record",
    "UnknownFilterValueError",
    "load_catalog",
    "parse_catalog",
    "select",
    "tool_name",
]
