"""What each `kubectl cmcp` subcommand does; each returns the text to print."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import yaml
from pydantic import ValidationError

from coviu_catalog import CatalogError, load_catalog, select, tool_name

from ..builders import URL_KEY
from ..errors import PluginError
from ..models import Spec
from ..names import KIND, PLURAL, ROTATE_ANNOTATION, token_secret_name
from .kubectl import Kubectl

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_duration(text: str) -> timedelta:
    """`8h`, `90m`, `1d12h`, `1h30m` ... (days, hours, minutes, seconds; at least one)."""
    match = _DURATION.match(text.strip())
    if not text.strip() or match is None:
        raise PluginError(f"invalid duration {text!r}: write e.g. 8h, 90m, 1d12h or 1h30m")
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    duration = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    if not duration:
        raise PluginError(f"invalid duration {text!r}: it must be longer than zero")
    return duration


def countdown(expires_at: datetime | None, now: datetime) -> str:
    """`7h59m`, `2d3h`, `expired 5m ago` or `never`, at minute precision."""
    if expires_at is None:
        return "never"
    left = expires_at - now
    text = _short(abs(left))
    return text if left > timedelta(0) else f"expired {text} ago"


def _short(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days}d{hours}h"
    return f"{hours}h{minutes}m" if hours else f"{minutes}m"


def rfc3339(instant: datetime) -> str:
    return instant.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _instant(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def _table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return "\n".join("   ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
                     for row in rows) + "\n"


def tools(documents: Iterable[Any]) -> tuple[str, bool]:
    """The tools each CoviuMCPServer in the manifest would get; (text, all servers valid)."""
    records = load_catalog().records
    servers = [doc for doc in documents if isinstance(doc, dict) and doc.get("kind") == KIND]
    if not servers:
        raise PluginError(f"the manifest holds no {KIND}")
    blocks, valid = [], True
    for doc in servers:
        name = (doc.get("metadata") or {}).get("name", "<unnamed>")
        try:
            spec = Spec.model_validate(doc.get("spec") or {})
            chosen = select(records, spec.methods, spec.tags)
        except ValidationError as exc:
            blocks.append(f"{name}: invalid spec: " + "; ".join(
                f"{'.'.join(str(part) for part in error['loc']) or 'spec'}: {error['msg']}" for error in exc.errors()))
            valid = False
            continue
        except CatalogError as exc:
            blocks.append(f"{name}: {exc}")
            valid = False
            continue
        rows = [("TOOL", "ACCESS", "TITLE")] + [
            (tool_name(record), record.method_class.value, record.summary) for record in chosen]
        blocks.append(f"{name}: {len(chosen)} tools\n" + _table(rows).rstrip("\n"))
    return "\n\n".join(blocks) + "\n", valid


def load_manifest(text: str, source: str) -> list[Any]:
    try:
        return list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        raise PluginError(f"{source} is not YAML: {exc}") from None


def url(kubectl: Kubectl, name: str) -> str:
    server = kubectl.get(PLURAL, name)
    secret_name = (server.get("status") or {}).get("tokenSecretName") or token_secret_name(name)
    secret = kubectl.get("secret", secret_name)
    value = (secret.get("data") or {}).get(URL_KEY)
    if not value:
        raise PluginError(f"Secret {secret_name} has no {URL_KEY!r} key yet: is {name} Ready? "
                          f"(kubectl get {PLURAL} {name} -o wide)")
    return base64.b64decode(value).decode() + "\n"


def extend(kubectl: Kubectl, name: str, by: timedelta, now: datetime) -> str:
    """Move expiresAt `by` later, counted from now for a server that has already expired."""
    server = kubectl.get(PLURAL, name)
    current = _instant((server.get("spec") or {}).get("expiresAt"))
    if current is None:
        raise PluginError(f"{name} has no spec.expiresAt: it does not expire, so there is nothing to extend")
    new = max(current, now) + by
    kubectl.merge_patch(f"{PLURAL}/{name}", {"spec": {"expiresAt": rfc3339(new)}})
    return f"{name} now expires at {rfc3339(new)} (in {countdown(new, now)})\n"


def rotate(kubectl: Kubectl, name: str, overlap: timedelta | None, now: datetime) -> str:
    """Ask for a new URL token; with `overlap`, the old URL keeps working that long after it."""
    server = kubectl.get(PLURAL, name)
    spec = server.get("spec") or {}
    if spec.get("tokenSecretRef"):
        raise PluginError(f"{name} takes its token from Secret {spec['tokenSecretRef'].get('name')!r} "
                          "(spec.tokenSecretRef): put the new token there to rotate it")
    patch: dict[str, Any] = {"metadata": {"annotations": {ROTATE_ANNOTATION: rfc3339(now)}}}
    if overlap is not None:
        patch["spec"] = {"rotationOverlapSeconds": int(overlap.total_seconds())}
    kubectl.merge_patch(f"{PLURAL}/{name}", patch)
    seconds = int(overlap.total_seconds()) if overlap is not None else spec.get("rotationOverlapSeconds") or 0
    old = (f"the old URL works for {_short(timedelta(seconds=seconds))} more (status.previousTokenValidUntil)"
           if seconds else "the old URL stops working once the new token is published")
    return f"{name}: new URL token requested; {old}. `kubectl cmcp url {name}` prints the new URL.\n"


def listing(kubectl: Kubectl, all_namespaces: bool, now: datetime) -> str:
    items = kubectl.get(PLURAL, *(["--all-namespaces"] if all_namespaces else []))["items"]
    if not items:
        return f"No {KIND}s found.\n"
    header = (("NAMESPACE",) if all_namespaces else ()) + ("NAME", "READY", "TOOLS", "EXPIRES", "REMAINING")
    rows = [header]
    for item in sorted(items, key=lambda i: (i["metadata"]["namespace"], i["metadata"]["name"])):
        status = item.get("status") or {}
        found = {c["type"]: c["status"] for c in status.get("conditions") or []}
        ready = found.get("Ready", "Expired" if found.get("Expired") == "True" else "Unknown")  # no Ready once expired
        expires = (item.get("spec") or {}).get("expiresAt")
        rows.append(((item["metadata"]["namespace"],) if all_namespaces else ()) + (
            item["metadata"]["name"], ready, str(status.get("toolCount", "-")), expires or "-",
            countdown(_instant(expires), now)))
    return _table(rows)
