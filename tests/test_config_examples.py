"""Every example configuration loads, and a wrong key or value names the file and the key."""

from pathlib import Path

import pytest

from central.settings import load_settings
from vouchers.errors import ConfigError

CONFIG = Path(__file__).parent.parent / "config"


def test_central_example_loads():
    settings = load_settings(CONFIG / "central.example.toml")
    assert settings.port == 8000
    assert settings.admin_token is None  # secrets never live in example files


def test_wrong_key_names_file_and_key(tmp_path):
    file = tmp_path / "central.toml"
    file.write_text('port = 8000\nadmin_tokn = "x"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(file)
    assert str(file) in str(info.value) and "admin_tokn" in str(info.value)


def test_wrong_value_names_key(tmp_path):
    file = tmp_path / "central.toml"
    file.write_text('port = "eighty"\n')
    with pytest.raises(ConfigError, match="'port'"):
        load_settings(file)


def test_environment_overrides_file(tmp_path, monkeypatch):
    file = tmp_path / "central.toml"
    file.write_text("port = 8000\n")
    monkeypatch.setenv("VOUCHER_PORT", "9100")
    assert load_settings(file).port == 9100


def test_sync_example_loads():
    from sync.settings import load_settings as load_sync

    settings = load_sync(CONFIG / "sync.example.toml")
    assert settings.replica_path.name == "replica.db" and settings.push_batch == 500
    assert settings.identity_path == settings.data_dir / "device.json"


def test_sync_wrong_key_names_file_and_key(tmp_path):
    from sync.settings import load_settings as load_sync

    file = tmp_path / "sync.toml"
    file.write_text("pull_interval = 5\n")
    with pytest.raises(ConfigError) as info:
        load_sync(file)
    assert str(file) in str(info.value) and "pull_interval" in str(info.value)


def test_kiosk_example_loads():
    from kiosk.settings import load_settings as load_kiosk

    settings = load_kiosk(CONFIG / "kiosk.example.toml")
    assert settings.identity_path == settings.data_dir / "device.json"


def test_hub_example_loads():
    from hub.settings import HubSettings
    from hub.settings import load_settings as load_hub

    settings = load_hub(CONFIG / "hub.example.toml")
    assert settings.port == 8470 and settings.server == "https://vouchers.example.com"
    assert settings.database_path.name == "hub.db"
    assert settings.identity_path == settings.state_dir / "device.json"
    # every key the hub has is in the example, so the file documents them all
    text = (CONFIG / "hub.example.toml").read_text()
    assert [k for k in HubSettings.model_fields if f"{k} =" not in text] == []


def test_hub_wrong_key_names_file_and_key(tmp_path):
    from hub.settings import load_settings as load_hub

    file = tmp_path / "hub.toml"
    file.write_text("listen_port = 8470\n")
    with pytest.raises(ConfigError) as info:
        load_hub(file)
    assert str(file) in str(info.value) and "listen_port" in str(info.value)
