"""Which objects are a server's own: those whose controller owner reference carries its UID.

A name is not ownership. Objects named like a server's children (`<name>-mcp`,
`<name>-mcp-token`) may predate the server, or be created after it expired, by someone
else; the operator never writes or deletes those, it reports them as a conflict.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import InputError
from .kube import Ref


def controller_uid(obj: Mapping[str, Any]) -> str | None:
    """The UID of the object's controller owner, if it has one."""
    owners = (obj.get("metadata") or {}).get("ownerReferences") or []
    return next((owner.get("uid") for owner in owners if owner.get("controller")), None)


def controlled_by(obj: Mapping[str, Any], uid: str) -> bool:
    return controller_uid(obj) == uid


def conflicts(found: Mapping[Ref, Mapping[str, Any] | None], uid: str) -> list[Ref]:
    """The objects in `found` that exist and are not controlled by the server with `uid`."""
    return [ref for ref, obj in found.items() if obj is not None and not controlled_by(obj, uid)]


def conflict_error(refs: list[Ref]) -> InputError:
    """The problem that stops a server whose child names are taken."""
    one = len(refs) == 1
    return InputError("Conflict", f"{', '.join(map(str, refs))} {'exists' if one else 'exist'} and "
                                  f"{'is' if one else 'are'} not controlled by this CoviuMCPServer, so the operator "
                                  f"neither adopts nor deletes {'it' if one else 'them'}; remove or rename "
                                  f"{'it' if one else 'them'}, or rename the CoviuMCPServer")
