"""Settings both store-host programs share: the directory of the till's files, the identity, and
how old a snapshot may be (the kiosk warns about it, `voucher-sync status` reports it)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from configfile import FileSettings


class StoreHostSettings(FileSettings):
    """The kiosk and the agent must point at the same directory: the agent writes replica.db
    there, the kiosk journal.db, and enrolment leaves device.json (0600)."""

    data_dir: Path = Field(
        Path("/var/lib/voucher-kiosk"), description="Where replica.db and journal.db live."
    )
    identity_file: Path | None = Field(
        None,
        description="The device identity written by 'voucher-sync enrol' (0600). Default: data_dir/device.json.",
    )
    stale_snapshot_hours: float = Field(
        24,
        gt=0,
        description="A snapshot whose last successful pull is older than this is stale: the kiosk warns "
        "(and may ask for the manager PIN), `voucher-sync status` reports the till degraded.",
    )

    @property
    def identity_path(self) -> Path:
        return self.identity_file or self.data_dir / "device.json"

    @property
    def replica_path(self) -> Path:
        return self.data_dir / "replica.db"

    @property
    def journal_path(self) -> Path:
        return self.data_dir / "journal.db"
