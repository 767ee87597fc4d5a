"""Typed settings of the central server: TOML file, then VOUCHER_* environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from configfile import FileSettings, load
from configfile.logs import LogFormat, LogLevel
from vouchers.wording import said

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
        "http://127.0.0.1:8000",
        description="Base URL members reach this server at; claim URLs start with it.",
    )
    enrolment_code_minutes: int = Field(
        30, ge=1, le=7 * 24 * 60, description="Lifetime of an enrolment code."
    )
    max_batch_size: int = Field(10_000_000, ge=1, description="Most serials a batch's range may hold.")
    max_body_bytes: int = Field(4_000_000, ge=1024, description="Largest request body accepted.")
    snapshot_page_size: int = Field(
        10_000, ge=1, description="Rows per snapshot page when the device asks for none."
    )
    snapshot_page_max: int = Field(50_000, ge=1, description="Largest snapshot page a device may ask for.")
    live_poll_seconds: float = Field(
        0.2,
        gt=0,
        le=10,
        description="How often each server process looks for new changes while a till waits for "
        "one (GET /sync/snapshot with wait): a change reaches a waiting till this much later at most.",
    )
    generation_chunk: int = Field(50_000, ge=100, description="Vouchers generated per transaction.")
    generation_lease_seconds: int = Field(
        30,
        ge=2,
        description="A generation job not heard from for this long is taken over by another process.",
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
        5,
        ge=1,
        le=100,
        description="Wrong passwords for one staff account from one client address, within "
        "sign_in_lockout_minutes, before that address must wait (429) until the window ends. The account is "
        "slowed for that address only, never locked: its owner signs in from theirs.",
    )
    sign_in_lockout_minutes: int = Field(
        15, ge=1, le=24 * 60, description="The window of the staff sign-in limits, in minutes."
    )
    staff_sign_in_failures_per_address: int = Field(
        20,
        ge=1,
        le=1_000_000,
        description="Wrong staff passwords from one client address (any accounts) per window.",
    )

    member_sign_in_per_address: int = Field(
        10, ge=1, le=100_000, description="Sign-in mails one client address may ask for in 15 minutes."
    )
    member_sign_in_per_account: int = Field(
        3, ge=1, le=1_000_000, description="Sign-in mails to one e-mail address in 15 minutes."
    )
    member_codes_per_address: int = Field(
        30, ge=1, le=100_000, description="Sign-in codes and links one client address may try in 15 minutes."
    )
    claims_per_address: int = Field(
        30, ge=1, le=1_000_000, description="Members' claims from one client address an hour."
    )
    claims_per_member: int = Field(
        10, ge=1, le=100_000, description="Claims of one signed-in member an hour."
    )
    claims_per_token_per_minute: int = Field(
        600, ge=1, le=1_000_000, description="Claims with one integration or staff token a minute."
    )
    enrolments_per_address: int = Field(
        10,
        ge=1,
        le=100_000,
        description="Device enrolments (right code or wrong) from one client address in 15 minutes.",
    )
    device_requests_per_minute: int = Field(
        1200, ge=1, le=10_000_000, description="Requests of one device token to the sync API a minute."
    )
    device_requests_per_address_per_minute: int = Field(
        6000,
        ge=1,
        le=10_000_000,
        description="Sync API requests from one client address a minute (a shop's tills may share one).",
    )

    password_hash_cost: int = Field(
        17,
        ge=10,
        le=20,
        description="scrypt cost of new staff password hashes, as log2 N: 17 is OWASP's "
        "recommendation (N=2^17, r=8, p=1; about 0.3 s a hash). Older, cheaper hashes are upgraded at the "
        "next sign-in. Lower it only for tests.",
    )

    member_session_days: int = Field(
        30,
        ge=1,
        le=366,
        description="Days a member's sign-in (claim page, My vouchers) lasts on their phone.",
    )

    smtp_host: str | None = Field(
        None, description="Mail server for members' sign-in links and codes; unset: members cannot sign in."
    )
    smtp_port: int = Field(587, ge=1, le=65535, description="Its port (587 for starttls, 465 for tls).")
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        "starttls",
        description="starttls: upgrade with STARTTLS; tls: TLS from the start; none: only for a "
        "mail server on this host.",
    )
    smtp_user: str | None = Field(None, description="User to log in to the mail server as; unset: no login.")
    smtp_password: SecretStr | None = Field(
        None,
        description="Password of smtp_user: a secret, never in the file; under systemd the credential "
        "smtp_password, by hand VOUCHER_SMTP_PASSWORD.",
    )
    smtp_timeout_seconds: float = Field(20, gt=0, le=300, description="Seconds to wait on the mail server.")
    mail_from: str = Field(
        "vouchers@localhost", max_length=200, description="The From address of members' sign-in mail."
    )

    # operations (README.md, "Operations")
    metrics_token: SecretStr | None = Field(
        None,
        description="Bearer token Prometheus sends for /metrics: a secret, never in the file (the "
        "credential metrics_token, or VOUCHER_METRICS_TOKEN). Unset: /metrics answers only clients on this "
        "host (loopback) that came through no proxy.",
    )
    log_format: LogFormat = Field(
        "text",
        description="text: one line per record, with the journal's priority prefix under systemd; "
        "json: one JSON object per line.",
    )
    log_level: LogLevel = Field(
        "info", description="The least urgent level logged: debug, info, warning, error."
    )
    stale_device_minutes: int = Field(
        15,
        ge=1,
        le=30 * 24 * 60,
        description="A device not heard from (no heartbeat) for this long is listed on "
        "the dashboard's Quiet tills page.",
    )

    office_timezone: str = Field(
        "UTC",
        max_length=64,
        description="Head office's time zone (an IANA name such as Europe/Paris): the dashboard shows "
        "head office's own times (staff changes, sign-ins, tokens) in it; each store's events are shown "
        "in that store's own zone, and members see times in their phone's.",
    )

    @field_validator("office_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value.upper() == "UTC":
            return "UTC"
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                said("unknown time zone {value} (an IANA name such as Europe/Paris)", value=repr(value))
            ) from exc
        return value

    @property
    def secure_cookies(self) -> bool:
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.public_url.lower().startswith("https://")


def load_settings(path: str | Path | None = None, **overrides) -> CentralSettings:
    """Settings from a TOML file (or $VOUCHER_CENTRAL_CONFIG), the environment and overrides."""
    return load(CentralSettings, path, CONFIG_ENV, **overrides)
