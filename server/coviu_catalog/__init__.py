"""The Coviu API catalog: documentation records from which tools are generated.

Both the MCP proxy and the sandbox read it, and the operator resolves filters against it;
it imports neither of them.
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
