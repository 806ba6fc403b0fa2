"""Signed values: what comes back unchanged verifies, anything else is None, never an error."""

from __future__ import annotations

import pytest

from personalize_sdk import ConfigError, Personalizer
from personalize_sdk.signing import MAX_SIGNED_LENGTH, Signer, derive, resolve_secret

SECRET = b"0123456789abcdef0123456789abcdef"


def test_round_trip_and_tampering() -> None:
    signer = Signer(derive(SECRET, "cookie"))
    signed = signer.sign("v-123")
    assert signed.startswith("v-123.") and signer.unsign(signed) == "v-123"
    for bad in (
        "v-124" + signed[5:],
        signed[:-1] + ("A" if signed[-1] != "A" else "B"),
        signed + "x",
        "v-123",
        "v-123.",
        "." + signed.split(".")[1],
        signed.replace(".", ""),
        "é" + signed,
        "x" * (MAX_SIGNED_LENGTH + 1),
        None,
        123,
        b"v-123",
    ):
        assert signer.unsign(bad) is None, bad


def test_keys_are_per_purpose_and_per_secret() -> None:
    signed = Signer(derive(SECRET, "cookie")).sign("v-1")
    assert Signer(derive(SECRET, "other")).unsign(signed) is None
    assert Signer(derive(b"another secret, 32 bytes long!!!", "cookie")).unsign(signed) is None


def test_the_secret_comes_from_the_argument_then_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PERSONALIZE_SECRET", raising=False)
    key, ephemeral = resolve_secret(None)
    assert ephemeral and len(key) == 32
    monkeypatch.setenv("PERSONALIZE_SECRET", "from-the-environment-123")
    assert resolve_secret(None) == (b"from-the-environment-123", False)
    assert resolve_secret("given-in-code-12345") == (b"given-in-code-12345", False)
    with pytest.raises(ConfigError):
        resolve_secret("short")
    # every process of a shop given the same secret accepts the others' cookies
    one, two = (
        Personalizer(secret="shared-secret-123456"),
        Personalizer(secret="shared-secret-123456"),
    )
    assert two.signer.unsign(one.signer.sign("v-9")) == "v-9"
    assert not one.secret_is_ephemeral
