"""Tool names, following the seed product's convention.

`list_all_coviu_<plural>`, `get_single_coviu_<resource>_by_id`, `create_a_coviu_<resource>`,
`update_a_coviu_<resource>_by_id`, `delete_a_coviu_<resource>_by_id`; a custom method is
read as a sub-resource (`get_single_coviu_session_summary_by_id`). Models learn these names,
and users put them in `methods` filters, so they must never change for an existing record.
"""

from __future__ import annotations

from .models import Record

_VERB_BY_HTTP = {"GET": "get_single", "POST": "create_a", "PUT": "update_a", "PATCH": "update_a", "DELETE": "delete_a"}


def tool_name(record: Record) -> str:
    by_id = "_by_id" if record.id_param else ""
    match record.method:
        case "list":
            return f"list_all_coviu_{record.plural}"
        case "get":
            return f"get_single_coviu_{record.resource}{by_id}"
        case "create":
            return f"create_a_coviu_{record.resource}"
        case "update":
            return f"update_a_coviu_{record.resource}{by_id}"
        case "delete":
            return f"delete_a_coviu_{record.resource}{by_id}"
        case custom:
            return f"{_VERB_BY_HTTP[record.http_method]}_coviu_{record.resource}_{custom}{by_id}"
