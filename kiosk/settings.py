"""Typed settings of the kiosk: TOML file, then VOUCHER_KIOSK_* environment variables."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from configfile import load
from kiosk.scanner import DEFAULT_DECODERS
from localdb.settings import StoreHostSettings
from vouchers.wording import said
from words import LANGUAGES, language_of

CONFIG_ENV = "VOUCHER_KIOSK_CONFIG"
LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(_[A-Za-z]{2}|_[0-9]{3}|_[A-Za-z]{4}(_[A-Za-z]{2})?)?")


class KioskSettings(StoreHostSettings):
    """Every key of config/kiosk.example.toml; each can be overridden by VOUCHER_KIOSK_<KEY>."""

    model_config = SettingsConfigDict(env_prefix="VOUCHER_KIOSK_", extra="forbid", validate_default=True)

    cashier: str | None = Field(None, description="Name recorded with this till's events, if any.")
    till_name: str | None = Field(
        None,
        description="This till's name at the top of the cashier's screen, beside the shop's; default: "
        "the host name (voucher-sync enrol's default device name).",
    )
    language: str | None = Field(
        None,
        description="The language the till speaks on its screen, in its verdicts and on its command "
        "line: en, fr, de or es, or one with a region as head office writes a store's locale (de_CH, "
        "fr-BE: the language's words, the region's dates and numbers). Default: the store's locale as "
        "head office set it (it comes with the snapshot, and the screen follows a change at its next "
        "refresh, no restart needed), else English.",
    )

    @field_validator("language")
    @classmethod
    def _a_language_the_till_speaks(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        tag = value.strip().replace("-", "_")
        if not LANGUAGE_TAG.fullmatch(tag) or language_of(tag) is None:
            raise ValueError(
                said(
                    "{value}: one of {languages}, or one with a region (de_CH)",
                    value=repr(value),
                    languages=", ".join(LANGUAGES),
                )
            )
        return tag

    allow_quit: bool = Field(
        False,
        description="Offer Ctrl+Q (quit the screen) in the footer and let it work. Off on a till: under "
        "systemd the screen is stopped with 'systemctl stop voucher-kiosk' (SIGTERM), and a quit screen "
        "would only start again.",
    )
    recent_scans: int = Field(
        5, ge=0, le=20, description="How many of the last scans the strip under the verdict shows (0: none)."
    )
    verdict_seconds: float = Field(6, gt=0, description="How long a verdict stays on screen.")
    bell: bool = Field(True, description="Ring the terminal bell: once when accepted, twice when refused.")
    stale_needs_approval: bool = Field(
        False,
        description="With a snapshot older than stale_snapshot_hours, a valid voucher is redeemed only "
        "after a manager enters the PIN.",
    )
    confirm: bool = Field(
        False,
        description='Ask the cashier "mark as used?" (Enter yes, Esc no) before a valid voucher is redeemed.',
    )
    offline_after_seconds: float = Field(
        120, gt=0, description="Show OFFLINE when the agent has not synced for this long."
    )
    camera: str | None = Field(
        None,
        description="Camera: a device index (0), a device path (/dev/video0), a video file or a folder of "
        "images; none for keyboard and scanner input only.",
    )
    decoders: list[str] = Field(
        list(DEFAULT_DECODERS),
        description="Barcode decoders: the first reads every "
        "camera frame; the later ones, in order, read a frame it found nothing in, on a "
        "thread of their own (bench/README.md: camera). voucher-kiosk decode uses them too.",
    )
    fallback_fps: float = Field(
        1,
        gt=0,
        description="Most times per second the later decoders run, counted from "
        "the end of one pass to the start of the next.",
    )
    repeat_seconds: float = Field(
        3, ge=0, description="The same code seen again within this time is ignored."
    )
    preview: bool = Field(False, description="Show the camera's picture beside the verdict, for aiming.")
    preview_fps: float = Field(8, gt=0, description="Most times per second the preview is redrawn.")
    file_fps: float = Field(15, gt=0, description="Frames per second read from a video file or image folder.")


def load_settings(path: str | Path | None = None, **overrides) -> KioskSettings:
    return load(KioskSettings, path, CONFIG_ENV, **overrides)
