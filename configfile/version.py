"""Every program's --version: the installed distribution's version, one definition for all three."""

from __future__ import annotations

import argparse
from importlib.metadata import PackageNotFoundError, version

DISTRIBUTION = "voucher-kiosk"


def installed_version() -> str:
    """The version pip installed; "dev" when run from a source tree that was never installed."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "dev"


def add_version_argument(parser: argparse.ArgumentParser, help: str | None = None) -> None:
    """--version prints "<program> <version>" and exits 0; `help` words the option in the program's
    language (argparse's own "show program's version number and exit" otherwise)."""
    action = parser.add_argument("--version", action="version", version=f"%(prog)s {installed_version()}")
    if help:
        action.help = help
