"""Typed settings of the central server: TOML file, then VOUCHER_* environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from configfile import FileSettings, load

CONFIG_ENV = "VOUCHER_CENTRAL_CONFIG"


class CentralSettings(FileSettings):
    """Every key of config/central.example.toml; each can be overridden by VOUCHER_<KEY>."""

    model_config = SettingsConfigDict(env_prefix="VOUCHER_", extra="forbid", validate_default=True)

    database_url: str = Field(
        "sqlite:///voucher-central.db",
        description="SQLAlchemy URL: sqlite:///path.db (default, in the working directory) "
        "or postgresql+psycopg://user@host/db for a fleet.",
    )
    host: str = Field("127.0.0.1", description="Address to listen on.")
    port: int = Field(8000, ge=1, le=65535, description="Port to listen on.")
    admin_token: SecretStr | None = Field(
        None, description="Bearer token for admin endpoints. Set it by VOUCHER_ADMIN_TOKEN, not in the file."
    )
    public_url: str = Field(
        "http://127.0.0.1:8000", description="Base URL members reach this server at; claim URLs start with it."
    )
    enrolment_code_minutes: int = Field(30, ge=1, le=7 * 24 * 60, description="Lifetime of an enrolment code.")
    max_batch_size: int = Field(10_000_000, ge=1, description="Most serials a batch's range may hold.")
    max_body_bytes: int = Field(4_000_000, ge=1024, description="Largest request body accepted.")
    snapshot_page_size: int = Field(10_000, ge=1, description="Rows per snapshot page when the device asks for none.")
    snapshot_page_max: int = Field(50_000, ge=1, description="Largest snapshot page a device may ask for.")
    generation_chunk: int = Field(50_000, ge=100, description="Vouchers generated per transaction.")
    generation_lease_seconds: int = Field(
        30, ge=2, description="A generation job not heard from for this long is taken over by another process."
    )

    session_hours: int = Field(
        12, ge=1, le=24 * 30, description="Hours a dashboard sign-in lasts before staff sign in again."
    )
    cookie_secure: bool | None = Field(
        None,
        description="Send the dashboard's session cookie over HTTPS only. Unset: yes when public_url "
        "starts with https://.",
    )
    sign_in_max_failures: int = Field(
        5, ge=1, le=100, description="Wrong passwords in a row for one e-mail address before it is locked."
    )
    sign_in_lockout_minutes: int = Field(
        15, ge=1, le=24 * 60, description="Minutes an e-mail address stays locked after too many wrong passwords."
    )

    member_session_days: int = Field(
        30, ge=1, le=366, description="Days a member's sign-in (claim page, My vouchers) lasts on their phone."
    )

    @property
    def secure_cookies(self) -> bool:
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.public_url.lower().startswith("https://")


def load_settings(path: str | Path | None = None, **overrides) -> CentralSettings:
    """Settings from a TOML file (or $VOUCHER_CENTRAL_CONFIG), the environment and overrides."""
    return load(CentralSettings, path, CONFIG_ENV, **overrides)
