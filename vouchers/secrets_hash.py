"""Salted scrypt hashes of secrets people type (a staff password, a manager PIN), one format for
every program: scrypt$N$r$p$salt$digest, checked in constant time.

New hashes use OWASP's recommended cost (N=2^17, r=8, p=1: about 0.3 s and 128 MiB each); a hash
of a lower cost still matches, and `needs_rehash` tells the caller to store a new one once the
secret has been typed right (at the next sign-in)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

LOG2_N, R, P = 17, 8, 1
N = 2**LOG2_N
_MAXMEM = 2**30  # scrypt needs 128·N·r bytes: 128 MiB at N=2^17, above hashlib's 32 MiB default


def hash_secret(secret: str, log2_n: int = LOG2_N) -> str:
    """A new hash of `secret`; a lower cost than OWASP's (log2_n < 17) is for tests only."""
    n = 2**log2_n
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=n, r=R, p=P, dklen=32, maxmem=_MAXMEM)
    return f"scrypt${n}${R}${P}${salt.hex()}${digest.hex()}"


def secret_matches(secret: str, stored: str) -> bool:
    """Whether `secret` hashes to `stored`; False for anything that is not such a hash."""
    try:
        scheme, n, r, p, salt, digest = stored.strip().split("$")
        if scheme != "scrypt" or int(n) > 2**20 or int(r) > 32 or int(p) > 16:
            return False
        got = hashlib.scrypt(
            secret.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32, maxmem=_MAXMEM
        )
    except ValueError:
        return False
    return hmac.compare_digest(got.hex(), digest)


def needs_rehash(stored: str, log2_n: int = LOG2_N) -> bool:
    """Whether `stored` was made at a lower cost than `log2_n` asks for (or is no hash of ours)."""
    try:
        scheme, n, r, p, _salt, _digest = stored.strip().split("$")
        return scheme != "scrypt" or int(n) < 2**log2_n or int(r) < R or int(p) < P
    except ValueError:
        return True
