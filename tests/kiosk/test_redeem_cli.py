"""`voucher-kiosk redeem` applies the screen's policy: the "mark as used?" question and a
manager's approval on a stale voucher list, with nothing written until they are answered."""

from __future__ import annotations

import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.kiosk_files import CODES, make_settings

from harness import wait_for
from harness.terminal import TmuxTerminal
from kiosk.pin import save_pin

KIOSK = str(Path(sys.executable).with_name("voucher-kiosk"))


def _till(tmp_path: Path, pulled_hours_ago: float = 0):
    settings = make_settings(tmp_path)
    conn = sqlite3.connect(tmp_path / "replica.db")
    with conn:
        when = (datetime.now(UTC) - timedelta(hours=pulled_hours_ago)).isoformat()
        conn.execute("UPDATE meta SET value = ? WHERE key = 'last_pull_at'", (when,))
    conn.close()
    save_pin(tmp_path / "manager-pin", "2468")
    return settings


def _events(tmp_path: Path) -> list[tuple[str, str | None]]:
    if not (tmp_path / "journal.db").exists():
        return []
    conn = sqlite3.connect(tmp_path / "journal.db")
    try:
        return [tuple(r) for r in conn.execute("SELECT kind, cashier FROM events ORDER BY seq")]
    finally:
        conn.close()


def _redeem(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [KIOSK, "redeem", *args, "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **env},
    )


APPROVAL = {"VOUCHER_KIOSK_STALE_NEEDS_APPROVAL": "true", "VOUCHER_KIOSK_STALE_SNAPSHOT_HOURS": "24"}


def test_a_stale_list_needs_the_managers_pin_and_without_a_terminal_nothing_is_written(tmp_path):
    _till(tmp_path, pulled_hours_ago=30)
    answer = _redeem(tmp_path, CODES[0], **APPROVAL)
    assert answer.returncode == 1
    assert "the voucher list is 30 hours old: a manager must approve" in answer.stdout
    assert "Not redeemed" in answer.stdout and "PIN" in answer.stderr
    assert [kind for kind, _ in _events(tmp_path)] == []  # not even a refusal: nothing was decided


def test_a_fresh_list_is_redeemed_at_once_under_the_same_policy(tmp_path):
    _till(tmp_path, pulled_hours_ago=0)
    answer = _redeem(tmp_path, CODES[0], **APPROVAL)
    assert answer.returncode == 0 and answer.stdout.startswith("ACCEPTED"), answer.stdout
    assert _events(tmp_path) == [("redeem", None)]


def test_the_mark_as_used_question_is_answered_by_yes_or_refused_without_one(tmp_path):
    _till(tmp_path)
    refused = _redeem(tmp_path, CODES[0], VOUCHER_KIOSK_CONFIRM="true")
    assert refused.returncode == 1 and "Mark it as used?" in refused.stdout and "--yes" in refused.stderr
    assert _events(tmp_path) == []
    accepted = _redeem(tmp_path, CODES[0], "--yes", VOUCHER_KIOSK_CONFIRM="true")
    assert accepted.returncode == 0 and accepted.stdout.startswith("ACCEPTED")
    assert _events(tmp_path) == [("redeem", None)]


def test_in_a_terminal_the_managers_pin_approves_and_the_event_says_so(tmp_path):
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    _till(tmp_path, pulled_hours_ago=50)
    exit_file = tmp_path / "exit"
    script = (
        f"{shlex.join([KIOSK, 'redeem', CODES[0], '--data-dir', str(tmp_path)])}; echo EXIT=$? > {exit_file}"
    )
    terminal = TmuxTerminal(tmp_path)
    try:
        terminal.start(["sh", "-c", script], APPROVAL)
        terminal.wait_screen(lambda s: "Manager PIN:" in s, 60, "the PIN question")
        assert "the voucher list is 2 days old" in " ".join(terminal.screen().split())
        terminal.type("2468")
        wait_for(lambda: exit_file.exists() and exit_file.read_text().strip(), 30, "the command's exit")
        assert exit_file.read_text().strip() == "EXIT=0", terminal.screen()
        assert "ACCEPTED" in terminal.screen()
    finally:
        terminal.close()
    assert _events(tmp_path) == [("redeem", "cashier, approved by manager")]


def test_the_command_speaks_the_store_s_language_and_the_setting_wins(tmp_path):
    """`voucher-kiosk redeem` words what it prints as the screen does: the store's locale from head
    office (here Spanish), unless the setting `language` says otherwise."""
    make_settings(tmp_path, locale="es")
    spanish = _redeem(tmp_path, CODES[0], VOUCHER_KIOSK_CONFIRM="true")
    assert spanish.returncode == 1, spanish.stdout + spanish.stderr
    assert "Cupón válido. ¿Marcarlo como canjeado?" in spanish.stdout
    assert "error: «¿marcar como canjeado?» necesita una respuesta" in spanish.stderr
    assert "No canjeado: no se ha registrado nada." in spanish.stdout and _events(tmp_path) == []
    german = _redeem(tmp_path, CODES[0], VOUCHER_KIOSK_LANGUAGE="de")
    assert german.returncode == 0, german.stdout + german.stderr
    assert german.stdout.startswith("ACCEPTED: Gültiger Gutschein: Rabatt gewähren.")
    assert "(Mindesteinkauf £20)" in german.stdout and _events(tmp_path) == [("redeem", None)]


def test_the_command_s_help_is_in_the_till_s_language(tmp_path):
    make_settings(tmp_path, locale="fr")  # the store's locale: the help follows it, as the screen does
    shown = subprocess.run(
        [KIOSK, "redeem", "--help", "--data-dir", str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0, shown.stderr
    assert "utilise un code tapé ou scanné" not in shown.stdout  # the subcommand's description, not its line
    assert "Décide d'un code à partir de la liste locale" in shown.stdout
    assert "le dossier partagé avec l'agent de synchronisation" in shown.stdout
    assert "the directory shared with the sync agent" not in shown.stdout
