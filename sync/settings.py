"""Typed settings of the sync agent: TOML file, then VOUCHER_SYNC_* environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from configfile import load
from localdb.settings import StoreHostSettings

CONFIG_ENV = "VOUCHER_SYNC_CONFIG"


class AgentSettings(StoreHostSettings):
    """Every key of config/sync.example.toml; each can be overridden by VOUCHER_SYNC_<KEY>."""

    model_config = SettingsConfigDict(env_prefix="VOUCHER_SYNC_", extra="forbid", validate_default=True)

    ca_bundle: Path | None = Field(None, description="Extra CA certificates to trust for the server (PEM).")
    timeout_seconds: float = Field(30, gt=0, description="Network timeout of one request.")
    pull_interval_seconds: float = Field(
        10,
        gt=0,
        description="Pause between snapshot pulls once up to date, "
        "with a server that does not wait for changes.",
    )
    live_wait_seconds: float = Field(
        25,
        ge=0,
        le=60,
        description="Once up to date, how long the server may hold "
        "a pull until something changes (0: pull every pull_interval_seconds instead).",
    )
    live_wait_gap_seconds: float = Field(
        1,
        ge=0,
        le=10,
        description="Shortest time between two such waiting pulls: a change at head office reaches "
        "the till within this (plus the network), and a busy fleet's tills ask at most this often.",
    )
    push_poll_seconds: float = Field(
        0.25, gt=0, description="How often the journal is checked for new events."
    )
    heartbeat_seconds: float = Field(30, gt=0, description="Pause between heartbeats.")
    page_limit: int = Field(20_000, ge=1, le=50_000, description="Snapshot rows asked for per page.")
    push_batch: int = Field(
        500, ge=1, le=1000, description="Events per upload (the server takes at most 1000)."
    )
    backoff_initial_seconds: float = Field(0.5, gt=0, description="First retry delay after a failure.")
    backoff_max_seconds: float = Field(60, gt=0, description="Longest delay between retries.")
    clock_skew_warn_seconds: int = Field(
        120, ge=1, description="Clock skew beyond this is reported as a problem."
    )
    offline_limit_minutes: float = Field(
        15,
        gt=0,
        description="No successful pull for longer than this (or none yet): `voucher-sync status` "
        "reports the till degraded (exit status 1).",
    )


def load_settings(path: str | Path | None = None, **overrides) -> AgentSettings:
    return load(AgentSettings, path, CONFIG_ENV, **overrides)
