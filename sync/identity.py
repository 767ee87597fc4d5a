"""The device identity from enrolment: server URL, ids, token and code hash key, in a 0600 file."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from sync.errors import NotEnrolled


@dataclass(frozen=True)
class Identity:
    server: str
    device_id: str
    store_id: str
    token: str
    code_hash_key: str

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


def load(path: Path) -> Identity:
    try:
        data = json.loads(path.read_text())
        return Identity(**{k: data[k] for k in Identity.__dataclass_fields__})
    except FileNotFoundError:
        raise NotEnrolled(f"No device identity at {path}: run 'voucher-sync enrol --server URL --code CODE'.") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise NotEnrolled(f"The device identity at {path} is damaged ({exc}); enrol again.") from None
