"""Validation of referenced Secrets (messages name the Secret and key, never the value) and the
decision about which URL token a server publishes."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from coviu_operator.errors import InputError
from coviu_operator.models import CredentialsSecretRef, SecretRef, Server, TokenSecretRef
from coviu_operator.secrets import (
    check_api_tokens,
    check_credentials,
    check_provided_token,
    config_hash,
    decide_token,
    link_key,
    mint_token,
    owned_token,
    previous_token,
    sha256_hex,
)
from coviu_testbed.operator import credentials_secret, secret_body, server_body

CREDS = CredentialsSecretRef(name="coviu-credentials")
TOKEN = "A" * 43


def server(**annotations: str) -> Server:
    return Server.parse(server_body("demo", "clinic", uid="uid-1", annotations=annotations))


def owned(
    token: str = TOKEN, uid: str = "uid-1", rotation: str | None = None, controller: bool = True
) -> dict[str, Any]:
    secret = secret_body("demo-mcp-token", "clinic", token=token)
    secret["metadata"]["ownerReferences"] = [{"uid": uid, "controller": controller}]
    if rotation is not None:
        secret["metadata"]["annotations"] = {"mcp.coviu.dev/rotation": rotation}
    return secret


@pytest.mark.parametrize(("secret", "message"), [
    (None, "Secret clinic/coviu-credentials not found"),
    (secret_body("coviu-credentials", "clinic", client_secret="s"), "key 'client_id' is missing"),
    (credentials_secret("clinic", client_id=""), "key 'client_id' is empty"),
    (credentials_secret("clinic", client_secret="s3cret\n"), "key 'client_secret' has leading or trailing whitespace"),
    (credentials_secret("clinic", refresh_token=" r"), "key 'refresh_token' has leading or trailing whitespace"),
])
def test_unusable_credentials_are_named(secret: dict[str, Any] | None, message: str) -> None:
    with pytest.raises(InputError) as caught:
        check_credentials(secret, CREDS, "clinic")
    assert message in caught.value.message
    assert caught.value.reason == ("CredentialsSecretNotFound" if secret is None else "CredentialsSecretInvalid")
    assert "s3cret" not in caught.value.message


def test_a_value_that_is_not_text_is_rejected() -> None:
    secret = credentials_secret("clinic")
    secret["data"]["client_id"] = base64.b64encode(b"\xff\xfe").decode()
    with pytest.raises(InputError, match="key 'client_id' is not UTF-8 text"):
        check_credentials(secret, CREDS, "clinic")


def test_custom_key_names_are_honoured() -> None:
    ref = CredentialsSecretRef(name="coviu-credentials", client_id_key="id", client_secret_key="secret")
    check_credentials(secret_body("coviu-credentials", "clinic", id="a", secret="b"), ref, "clinic")


def test_the_credentials_digest_changes_with_any_value() -> None:
    base = check_credentials(credentials_secret("clinic"), CREDS, "clinic")
    assert base == check_credentials(credentials_secret("clinic"), CREDS, "clinic")
    assert base != check_credentials(credentials_secret("clinic", client_secret="other"), CREDS, "clinic")
    assert base != check_credentials(credentials_secret("clinic", refresh_token="r"), CREDS, "clinic")


def test_api_tokens_are_every_value_as_sorted_digests() -> None:
    secret = secret_body("api", "clinic", agent="token-b", backup="token-a")
    assert check_api_tokens(secret, SecretRef(name="api"), "clinic") == tuple(
        sorted([sha256_hex("token-a"), sha256_hex("token-b")]))


@pytest.mark.parametrize(("secret", "reason", "message"), [
    (None, "ApiTokenSecretNotFound", "Secret clinic/api not found"),
    (secret_body("api", "clinic"), "ApiTokenSecretInvalid", "holds no tokens"),
    (secret_body("api", "clinic", agent="tok\n"), "ApiTokenSecretInvalid", "key 'agent' has leading"),
])
def test_unusable_api_token_secrets_are_named(secret: dict[str, Any] | None, reason: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        check_api_tokens(secret, SecretRef(name="api"), "clinic")
    assert (caught.value.reason, message in caught.value.message) == (reason, True)


def test_a_provided_token_must_be_long_and_url_safe() -> None:
    ref = TokenSecretRef(name="byo")
    assert check_provided_token(secret_body("byo", "clinic", token=TOKEN), ref, "clinic") == TOKEN
    for bad in ("short", "x" * 40 + "/+="):
        with pytest.raises(InputError, match="must hold 32 to 512 characters"):
            check_provided_token(secret_body("byo", "clinic", token=bad), ref, "clinic")
    with pytest.raises(InputError, match="not found") as caught:
        check_provided_token(None, ref, "clinic")
    assert caught.value.reason == "TokenSecretNotFound"


@pytest.mark.parametrize("secret", [owned(uid="someone-else"), owned(controller=False)])
def test_a_token_secret_this_server_does_not_control_is_a_conflict(secret: dict[str, Any]) -> None:
    with pytest.raises(InputError, match="not owned by this CoviuMCPServer") as caught:
        owned_token(secret, server())
    assert caught.value.reason == "TokenSecretConflict"


def test_an_edited_token_is_not_reused() -> None:
    assert owned_token(owned(token="short"), server()) is None
    assert owned_token(owned(), server()) == TOKEN
    assert owned_token(None, server()) is None


@pytest.mark.parametrize(("annotations", "existing", "had_token", "change", "why"), [
    ({}, None, False, "created", "new server"),
    ({}, owned(), True, "kept", ""),
    ({"mcp.coviu.dev/rotate-token": "1"}, owned(rotation="1"), True, "kept", ""),
    ({"mcp.coviu.dev/rotate-token": "2"}, owned(rotation="1"), True, "rotated", "annotation"),
    ({"mcp.coviu.dev/rotate-token": "1"}, owned(), True, "rotated", "annotation"),
    ({}, None, True, "rotated", "the token Secret was deleted"),
    ({}, owned(token="bad"), True, "rotated", "held no valid token"),
])
def test_the_token_is_kept_unless_a_rotation_is_due(
    annotations: dict[str, str], existing: dict[str, Any] | None, had_token: bool, change: str, why: str
) -> None:
    decision = decide_token(server(**annotations), existing, None, had_token)
    assert (decision.change, why in decision.why) == (change, True)
    assert (decision.token == TOKEN) == (change == "kept")
    assert decision.rotation == annotations.get("mcp.coviu.dev/rotate-token", (existing or {}).get(
        "metadata", {}).get("annotations", {}).get("mcp.coviu.dev/rotation"))


def test_a_provided_token_replaces_the_published_one() -> None:
    assert decide_token(server(), owned(), TOKEN, True).change == "kept"
    changed = decide_token(server(), owned(), "B" * 43, True)
    assert (changed.token, changed.change, changed.rotation) == ("B" * 43, "rotated", None)
    assert decide_token(server(), None, TOKEN, False).change == "created"


def test_a_rotation_with_an_overlap_keeps_the_old_token_until_its_deadline() -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    overlapping = Server.parse(server_body("demo", "clinic", {"rotationOverlapSeconds": 600}, uid="uid-1",
                                           annotations={"mcp.coviu.dev/rotate-token": "2"}))
    rotated = decide_token(overlapping, owned(rotation="1"), None, True)
    previous = previous_token(overlapping, owned(rotation="1"), rotated, now)
    assert previous is not None and (previous.sha256, previous.until) == (
        sha256_hex(TOKEN),
        now + timedelta(minutes=10),
    )

    recorded = secret_body("demo-mcp-token", "clinic", token=rotated.token, previous_token_sha256=previous.sha256,
                           previous_token_until="2030-01-01T00:10:00Z")
    recorded["metadata"] |= {"ownerReferences": owned()["metadata"]["ownerReferences"],
                             "annotations": {"mcp.coviu.dev/rotation": "2"}}
    kept = decide_token(overlapping, recorded, None, True)
    assert previous_token(overlapping, recorded, kept, now + timedelta(minutes=9)) == previous, "kept across passes"
    assert previous_token(overlapping, recorded, kept, now + timedelta(minutes=10)) is None, "gone at the deadline"
    assert previous_token(server(**{"mcp.coviu.dev/rotate-token": "2"}), owned(rotation="1"), rotated, now) is None, \
        "no overlap asked: a hard cut"
    provided = decide_token(overlapping, owned(), "B" * 43, True)
    assert previous_token(overlapping, owned(), provided, now) == previous, "a new tokenSecretRef value too"


def test_minted_tokens_carry_256_random_bits() -> None:
    tokens = {mint_token() for _ in range(100)}
    assert len(tokens) == 100
    assert {len(token) for token in tokens} == {43}  # 32 bytes in unpadded base64url


def test_the_config_hash_changes_with_every_secret_input() -> None:
    key = "K" * 43
    base = config_hash("creds", TOKEN, key, ("a",))
    assert base == config_hash("creds", TOKEN, key, ("a",))
    assert len({base, config_hash("other", TOKEN, key, ("a",)), config_hash("creds", "B" * 43, key, ("a",)),
                config_hash("creds", TOKEN, "L" * 43, ("a",)), config_hash("creds", TOKEN, key, ("a", "b"))}) == 5


def test_the_link_signing_key_is_kept_minted_or_refused() -> None:
    demo = Server.parse(server_body("demo", "clinic", uid="uid-1"))
    minted = link_key(None, demo)
    assert len(minted) == 43 and minted != link_key(None, demo)  # 32 random bytes, base64url
    owned = secret_body("demo-mcp-link-key", "clinic", key=minted)
    owned["metadata"]["ownerReferences"] = [{"uid": "uid-1", "controller": True}]
    assert link_key(owned, demo) == minted
    with pytest.raises(InputError, match="not owned by this CoviuMCPServer") as caught:
        link_key(secret_body("demo-mcp-link-key", "clinic", key=minted), demo)
    assert caught.value.reason == "LinkKeySecretConflict"
