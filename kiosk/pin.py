"""The manager PIN: stored as an scrypt hash in a 0600 file, with wrong attempts limited."""

from __future__ import annotations

import os
import time
from pathlib import Path

from vouchers.errors import VoucherError
from vouchers.secrets_hash import hash_secret, needs_rehash, secret_matches
from vouchers.wording import N_, Said
from words import Words

MAX_ATTEMPTS = 5
LOCKOUT_SECONDS = 300


class PinError(VoucherError):
    """Why a PIN is refused: `message` (marked for the till's words) with its `facts`."""

    slug = "pin"
    title = "Manager PIN"

    def __init__(self, message: str, **facts: object) -> None:
        super().__init__(Said(message, facts))
        self.message = message
        self.facts = facts

    def words(self, words: Words) -> str:
        return words.gettext(self.message, **self.facts)


hash_pin = hash_secret
check_pin = secret_matches


def save_pin(path: Path, pin: str) -> None:
    if not (pin.isdigit() and 4 <= len(pin) <= 12):
        raise PinError(N_("A manager PIN is 4 to 12 digits."))
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
            raise PinError(
                N_("Too many wrong PINs: try again in {seconds} s."), seconds=int(self.locked_until - now) + 1
            )
        if not self.configured():
            raise PinError(N_("No manager PIN is set on this till: run 'voucher-kiosk set-pin'."))
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
                N_("Too many wrong PINs: the manager view is locked for {minutes} minutes."),
                minutes=LOCKOUT_SECONDS // 60,
            )
        return False
