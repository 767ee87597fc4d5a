"""A manager PIN hashed at the cost used before issue 13 is hashed again at OWASP's when typed right."""

from __future__ import annotations


def test_a_manager_pin_hashed_at_the_old_cost_is_upgraded_when_typed(tmp_path):
    from kiosk.pin import PinGate
    from vouchers.secrets_hash import hash_secret

    pin = tmp_path / "manager-pin"
    pin.write_text(hash_secret("2468", 14) + "\n")
    gate = PinGate(pin)
    assert not gate.try_pin("1111") and pin.read_text().startswith("scrypt$16384$")
    assert gate.try_pin("2468") and pin.read_text().startswith("scrypt$131072$")
    assert gate.try_pin("2468") and oct(pin.stat().st_mode)[-3:] == "600"
