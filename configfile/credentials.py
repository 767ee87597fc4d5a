"""Secret settings from systemd credentials, so a unit needs no secret in its environment.

A unit with `LoadCredential=admin_token:/etc/voucher-kiosk/admin-token` gets the file
$CREDENTIALS_DIRECTORY/admin_token, readable by the service alone; this source reads it as the
field of that name. Only secret fields (SecretStr, SecretBytes) are read this way: the directory
is for secrets, not a second configuration file.
"""

from __future__ import annotations

import os
import types
from pathlib import Path
from typing import Any, Union, get_args, get_origin

from pydantic import SecretBytes, SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings
from pydantic_settings.sources import SecretsSettingsSource

CREDENTIALS_ENV = "CREDENTIALS_DIRECTORY"
SECRET_TYPES = (SecretStr, SecretBytes)


def credentials_directory() -> Path | None:
    """The directory systemd gave this process its credentials in, if any."""
    value = os.environ.get(CREDENTIALS_ENV)
    return Path(value) if value and Path(value).is_dir() else None


def is_secret(annotation: Any) -> bool:
    """SecretStr, SecretBytes, or an optional/union of one."""
    if annotation in SECRET_TYPES:
        return True
    return get_origin(annotation) in (Union, types.UnionType) and any(
        is_secret(arg) for arg in get_args(annotation)
    )


def secret_fields(settings_cls: type[BaseSettings]) -> list[str]:
    """Names of the fields a credential file may set."""
    return [name for name, field in settings_cls.model_fields.items() if is_secret(field.annotation)]


class CredentialsSource(SecretsSettingsSource):
    """Secret fields from files named after them (no prefix) in $CREDENTIALS_DIRECTORY.

    An empty file counts as absent, so a missing secret is reported as missing."""

    def __init__(self, settings_cls: type[BaseSettings], directory: Path) -> None:
        super().__init__(settings_cls, secrets_dir=directory, case_sensitive=True, env_prefix="")

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        if not is_secret(field.annotation):
            return None, field_name, False
        value, key, complex_ = super().get_field_value(field, field_name)
        return (value or None), key, complex_
