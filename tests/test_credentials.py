"""Secret settings from systemd credentials ($CREDENTIALS_DIRECTORY/<field>), as the units give them."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from central.settings import CentralSettings, load_settings
from configfile.credentials import secret_fields
from harness import ServerProcess
from vouchers.errors import ConfigError

CONFIG = Path(__file__).parent.parent / "config"
TOKEN = "cred-token-3f9a1c7e5b2d"


@pytest.fixture
def credentials(tmp_path, monkeypatch) -> Path:
    """A credentials directory as systemd makes it for LoadCredential=admin_token:…"""
    directory = tmp_path / "credentials"
    directory.mkdir()
    (directory / "admin_token").write_text(TOKEN + "\n")
    monkeypatch.delenv("VOUCHER_ADMIN_TOKEN", raising=False)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(directory))
    return directory


def test_admin_token_is_read_from_the_credential(credentials):
    settings = load_settings(CONFIG / "central.example.toml")
    assert settings.admin_token is not None
    assert settings.admin_token.get_secret_value() == TOKEN  # the trailing newline is not part of it
    assert TOKEN not in repr(settings) and TOKEN not in str(settings)


def test_without_credentials_directory_there_is_no_token(monkeypatch):
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.delenv("VOUCHER_ADMIN_TOKEN", raising=False)
    assert load_settings(CONFIG / "central.example.toml").admin_token is None


def test_only_secret_fields_come_from_credentials(credentials):
    (credentials / "port").write_text("9999\n")
    (credentials / "database_url").write_text("sqlite:////elsewhere.db\n")
    settings = load_settings(CONFIG / "central.example.toml")
    assert settings.port == 8000 and settings.database_url == "sqlite:///voucher-central.db"
    assert secret_fields(CentralSettings) == ["admin_token", "smtp_password", "metrics_token"]


def test_an_empty_credential_counts_as_missing(credentials):
    (credentials / "admin_token").write_text("\n")
    assert load_settings(CONFIG / "central.example.toml").admin_token is None


def test_environment_beats_credential_and_credential_beats_file(credentials, tmp_path, monkeypatch):
    file = tmp_path / "central.toml"
    file.write_text('admin_token = "from-the-file"\n')
    assert load_settings(file).admin_token.get_secret_value() == TOKEN
    monkeypatch.setenv("VOUCHER_ADMIN_TOKEN", "from-the-environment")
    assert load_settings(file).admin_token.get_secret_value() == "from-the-environment"


def test_a_wrong_key_is_reported_without_the_token(credentials, tmp_path):
    file = tmp_path / "central.toml"
    file.write_text('port = "eighty"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(file)
    assert "'port'" in str(info.value) and TOKEN not in str(info.value)


def test_the_server_takes_its_admin_token_from_the_credential(credentials, tmp_path):
    """The real `voucher-central serve` as the unit runs it: no token in its environment."""
    server = ServerProcess(f"sqlite:///{tmp_path / 'central.db'}", log=tmp_path / "server.log")
    del server.env["VOUCHER_ADMIN_TOKEN"]
    assert server.env["CREDENTIALS_DIRECTORY"] == str(credentials)
    with server, server.client(TOKEN) as admin, server.client("not-the-token") as stranger:
        first = admin.post(
            "/staff/bootstrap", json={"email": "first@example.com"}
        )  # what the admin token is for
        assert first.status_code == 201, first.text
        with server.client(first.json()["token"]) as own:
            assert own.post("/stores", json={"id": "leeds", "name": "Leeds"}).status_code == 201
        assert stranger.get("/stores").status_code == 401
        assert httpx.get(f"{server.url}/api/v1/stores", timeout=10).status_code == 401
    assert TOKEN not in (tmp_path / "server.log").read_text()
