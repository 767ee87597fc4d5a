"""Typed settings of the shop's hub: TOML file, then VOUCHER_HUB_* environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from configfile import FileSettings, load
from configfile.logs import LogFormat, LogLevel

CONFIG_ENV = "VOUCHER_HUB_CONFIG"
DEFAULT_PORT = 8470


class HubSettings(FileSettings):
    """Every key of config/hub.example.toml; each can be overridden by VOUCHER_HUB_<KEY>."""

    model_config = SettingsConfigDict(env_prefix="VOUCHER_HUB_", extra="forbid", validate_default=True)

    server: str | None = Field(
        None,
        description="Head office's URL (https in production). Unset: the one the hub was enrolled with.",
    )
    ca_bundle: Path | None = Field(None, description="Extra CA certificates to trust for head office (PEM).")
    host: str = Field(
        "0.0.0.0", description="Address the hub listens on for the shop's tills (all of the shop's network)."
    )
    port: int = Field(DEFAULT_PORT, ge=1, le=65535, description="Port the hub listens on for the tills.")
    state_dir: Path = Field(
        Path("/var/lib/voucher-hub"), description="Where hub.db (the shop's snapshot and ledger) lives."
    )
    identity_file: Path | None = Field(
        None,
        description="The hub's device identity written by 'voucher-hub enrol' (0600). "
        "Default: state_dir/device.json.",
    )
    device_name: str | None = Field(
        None, description="The hub's name at head office when it enrols (default: the host name)."
    )
    timeout_seconds: float = Field(30, gt=0, description="Network timeout of one request to head office.")
    live_wait_seconds: float = Field(
        25,
        ge=0,
        le=60,
        description="Once up to date, how long head office may hold a pull until something changes "
        "(0: pull every pull_interval_seconds instead).",
    )
    live_wait_gap_seconds: float = Field(
        1,
        ge=0,
        le=10,
        description="Shortest time between two such waiting pulls: a change at head office reaches "
        "the shop within this (plus the network), and a busy chain's hubs ask at most this often.",
    )
    pull_interval_seconds: float = Field(
        10, gt=0, description="Pause between pulls once up to date, with a head office that does not wait."
    )
    push_poll_seconds: float = Field(
        1,
        gt=0,
        description="How often the ledger is checked for events to forward (a till's upload "
        "wakes the forwarding at once).",
    )
    push_batch: int = Field(500, ge=1, le=1000, description="Events per upload to head office.")
    page_limit: int = Field(
        20_000, ge=1, le=50_000, description="Snapshot rows asked of head office per page."
    )
    devices_seconds: float = Field(
        5, gt=0, description="Pause between refreshes of the store's device list (tokens, revocations)."
    )
    heartbeat_seconds: float = Field(30, gt=0, description="Pause between the hub's own heartbeats.")
    backoff_initial_seconds: float = Field(0.5, gt=0, description="First retry delay after a failure.")
    backoff_max_seconds: float = Field(60, gt=0, description="Longest delay between retries.")
    till_page_size: int = Field(10_000, ge=1, description="Rows per page for a till that asks for none.")
    till_page_max: int = Field(50_000, ge=1, description="Largest page a till may ask for.")
    log_format: LogFormat = Field("text", description="text, or json: one JSON object a line.")
    log_level: LogLevel = Field("info", description="debug, info, warning or error.")

    @property
    def identity_path(self) -> Path:
        return self.identity_file or self.state_dir / "device.json"

    @property
    def database_path(self) -> Path:
        return self.state_dir / "hub.db"


def load_settings(path: str | Path | None = None, **overrides) -> HubSettings:
    return load(HubSettings, path, CONFIG_ENV, **overrides)
