"""The manager PIN: stored as an scrypt hash in a 0600 file, with wrong attempts limited."""

from __future__ import annotations

import os
import time
from pathlib import Path

from vouchers.errors import VoucherError
from vouchers.secrets_hash import hash_secret, needs_rehash, secret_matches

MAX_ATTEMPTS = 5
LOCKOUT_SECONDS = 300


class PinError(VoucherError):
    slug = "pin"
    title = "Manager PIN"


hash_pin = hash_secret
check_pin = secret_matches


def save_pin(path: Path, pin: str) -> None:
    if not (pin.isdigit() and 4 <= len(pin) <= 12):
        raise PinError("A manager PIN is 4 to 12 digits.")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(hash_pin(pin) + "\n")
    os.chmod(path, 0o600)


def _upgrade(path: Path, pin: str) -> None:
    """A PIN hashed at an older, cheaper cost is hashed again at today's, once typed right."""
    new = path.with_name(path.name + ".new")
    try:
        fd = os.open(new, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(hash_pin(pin) + "\n")
        os.replace(new, path)
    except OSError:  # a read-only directory: the old hash keeps working
        new.unlink(missing_ok=True)


class PinGate:
    """Checks PINs against the stored hash; after MAX_ATTEMPTS wrong ones, refuses for a while."""

    def __init__(self, path: Path, clock=time.monotonic) -> None:
        self.path = path
        self.clock = clock
        self.failures = 0
        self.locked_until = 0.0

    def configured(self) -> bool:
        return self.path.exists()

    def try_pin(self, pin: str) -> bool:
        now = self.clock()
        if now < self.locked_until:
            raise PinError(f"Too many wrong PINs: try again in {int(self.locked_until - now) + 1} s.")
        if not self.configured():
            raise PinError("No manager PIN is set on this till: run 'voucher-kiosk set-pin'.")
        stored = self.path.read_text()
        if check_pin(pin, stored):
            self.failures = 0
            if needs_rehash(stored):
                _upgrade(self.path, pin)
            return True
        self.failures += 1
        if self.failures >= MAX_ATTEMPTS:
            self.failures = 0
            self.locked_until = now + LOCKOUT_SECONDS
            raise PinError(
                f"Too many wrong PINs: the manager view is locked for {LOCKOUT_SECONDS // 60} minutes."
            )
        return False
