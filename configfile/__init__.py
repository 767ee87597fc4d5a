"""Typed settings from a TOML file, overridden by environment variables, for every program.

Each program declares a pydantic-settings class (env prefix VOUCHER_); `load` reads the file
given (or named by an environment variable) and turns every wrong key or value into one
ConfigError naming the file and the key. Secret fields may also come from systemd credentials
($CREDENTIALS_DIRECTORY/<field name>, see configfile.credentials).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar, TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, TomlConfigSettingsSource

from configfile.credentials import CredentialsSource, credentials_directory
from configfile.problems import joined, problem
from vouchers.errors import ConfigError
from vouchers.wording import said


class FileSettings(BaseSettings):
    """Base for a program's settings: init values, then environment, then systemd credentials
    (secret fields only), then the TOML file."""

    toml_file: ClassVar[Path | None] = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        directory = credentials_directory()
        if directory is not None:
            sources.append(CredentialsSource(settings_cls, directory))
        if cls.toml_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=cls.toml_file))
        return tuple(sources)


S = TypeVar("S", bound=FileSettings)


def load(cls: type[S], path: str | Path | None, env_var: str, **overrides) -> S:
    """Settings of type `cls` from `path` (or $env_var), the environment and overrides."""
    path = path or os.environ.get(env_var)
    file = Path(path) if path else None
    if file is not None and not file.is_file():
        raise ConfigError(said("Configuration file {file} does not exist.", file=str(file)))
    reader = type(cls.__name__, (cls,), {"toml_file": file})
    prefix = cls.model_config.get("env_prefix", "")
    try:
        values = reader(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        where = str(file) if file else said("the environment")
        problems = joined(
            [
                said(
                    "key '{key}' (or {variable}): {problem}",
                    key=".".join(str(p) for p in err["loc"]),
                    variable=prefix + str(err["loc"][0]).upper(),
                    problem=problem(err),
                )
                for err in exc.errors()
            ]
        )
        raise ConfigError(said("{where}: {problems}", where=where, problems=problems)) from None
    except ValueError as exc:  # TOML syntax
        raise ConfigError(said("{file}: {cause}", file=str(file), cause=str(exc))) from None
    return cls.model_construct(**dict(values))
