"""The device identity from enrolment: server URL, ids, token and code hash key, in a 0600 file
(device.json beside the till's databases). The agent writes and reads it whole; the kiosk reads
only the code hash key (`code_hash_key`), so the device token never enters its process's objects.

A till enrolled again (a revoked device, a new code) keeps, in `earlier_devices`, each device it
was before and up to which event of which journal that device made them: the agent pushes what
the old journal still holds under the device that made each event (docs/PROTOCOL.md).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from localdb.errors import NotEnrolled
from vouchers.wording import said


@dataclass(frozen=True)
class Identity:
    server: str
    device_id: str
    store_id: str
    token: str
    code_hash_key: str
    earlier_devices: tuple[dict[str, Any], ...] = ()  # {device_id, journal_id, up_to_seq}, oldest first

    def __repr__(self) -> str:  # never print the token
        return f"Identity(server={self.server!r}, device_id={self.device_id!r}, store_id={self.store_id!r})"


def save(path: Path, identity: Identity) -> None:
    """Write atomically, readable by the owner only from the first byte."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(asdict(identity), f)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _read(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise NotEnrolled(
            said(
                "No device identity at {path}: run 'voucher-sync enrol --server URL --code CODE'.",
                path=str(path),
            )
        ) from None
    except OSError as exc:  # e.g. another user's file
        raise NotEnrolled(
            said(
                "Cannot read the device identity at {path} ({cause}); run this as the user the till's files "
                "belong to, or enrol again.",
                path=str(path),
                cause=exc.strerror or str(exc),
            )
        ) from None


def _damaged(path: Path, exc: Exception) -> NotEnrolled:
    return NotEnrolled(
        said(
            "The device identity at {path} is damaged ({cause}); enrol again.", path=str(path), cause=str(exc)
        )
    )


def code_hash_key(path: Path) -> bytes:
    """The key the till hashes codes with, and nothing else of the file (NotEnrolled in words)."""
    try:
        return bytes.fromhex(_read(path)["code_hash_key"])
    except (ValueError, KeyError, TypeError) as exc:
        raise _damaged(path, exc) from None


def load(path: Path) -> Identity:
    try:
        data = _read(path)
        earlier = tuple(
            {
                "device_id": str(d["device_id"]),
                "journal_id": str(d["journal_id"]),
                "up_to_seq": int(d["up_to_seq"]),
            }
            for d in data.get("earlier_devices", ())
        )
        return Identity(
            **{k: data[k] for k in Identity.__dataclass_fields__ if k != "earlier_devices"},
            earlier_devices=earlier,
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise _damaged(path, exc) from None
