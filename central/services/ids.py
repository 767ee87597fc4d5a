"""Opaque ids and secret tokens."""

from __future__ import annotations

import hashlib
import secrets

from vouchers import ids
from vouchers.codes import ALPHABET


def new_id(prefix: str) -> str:
    """A short random id such as b_7KQ2M9XR4T (50 bits)."""
    return f"{prefix}_" + "".join(secrets.choice(ALPHABET) for _ in range(10))


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def token_hash(token: str) -> str:
    """Tokens are high-entropy, so a plain SHA-256 is enough to store them safely."""
    return hashlib.sha256(token.encode()).hexdigest()


def voucher_id(batch_id: str, serial: int) -> str:
    return ids.make(batch_id, serial)


def split_voucher_id(value: str) -> tuple[str, int] | None:
    return ids.try_parse(value)
