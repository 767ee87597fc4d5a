"""Staff accounts for the dashboard: scrypt hashes, sign-in with a throttle, sessions, the CLI."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from central.db.engine import Database
from central.db.migrate import upgrade
from central.db.schema import sign_in_throttle, staff_sessions, utcnow
from central.services import staff
from vouchers.errors import Conflict, InvalidInput, NotFound

CLI = str(Path(sys.executable).parent / "voucher-central")
LIMITS = {"hours": 12, "max_failures": 3, "lockout_minutes": 15}


@pytest.fixture
def db(database_url):
    database = Database(database_url)
    upgrade(database)
    yield database
    database.dispose()


def test_passwords_are_salted_scrypt_hashes():
    first, second = staff.hash_password("same password"), staff.hash_password("same password")
    assert first.startswith("scrypt$16384$8$1$") and first != second  # a salt per hash
    assert staff.password_matches("same password", first) and staff.password_matches("same password", second)
    assert not staff.password_matches("other password", first)
    assert not staff.password_matches("same password", "garbage")


def test_accounts_add_list_remove(db):
    with db.write() as conn:
        staff.add(conn, " Ann@Example.COM ", "long enough password")
        with pytest.raises(Conflict):
            staff.add(conn, "ann@example.com", "another long password")
        with pytest.raises(InvalidInput, match="at least 10"):
            staff.add(conn, "bob@example.com", "short")
        with pytest.raises(InvalidInput, match="not an e-mail address"):
            staff.add(conn, "bob", "long enough password")
    with db.read() as conn:
        assert [a["email"] for a in staff.list_all(conn)] == ["ann@example.com"]
    with db.write() as conn:
        outcome = staff.sign_in(conn, "ann@example.com", "long enough password", **LIMITS)
        staff.remove(conn, "ann@example.com")
        with pytest.raises(NotFound):
            staff.remove(conn, "ann@example.com")
    with db.read() as conn:
        assert staff.session_for(conn, outcome.token) is None  # removing ends the sessions


def test_sign_in_gives_a_session_and_sign_out_ends_it(db):
    with db.write() as conn:
        staff.add(conn, "ann@example.com", "long enough password")
        outcome = staff.sign_in(conn, "ANN@example.com", "long enough password", **LIMITS)
    assert outcome.refused is None and len(outcome.token) >= 40
    with db.read() as conn:
        session = staff.session_for(conn, outcome.token)
        stored = conn.execute(select(staff_sessions.c.token_hash)).scalar_one()
    assert session.email == "ann@example.com" and session.csrf_token == outcome.session.csrf_token
    assert stored != outcome.token  # the database keeps only a hash of the cookie's token
    with db.write() as conn:
        staff.sign_out(conn, outcome.token)
    with db.read() as conn:
        assert staff.session_for(conn, outcome.token) is None


def test_an_expired_session_is_no_session(db):
    with db.write() as conn:
        staff.add(conn, "ann@example.com", "long enough password")
        token = staff.sign_in(conn, "ann@example.com", "long enough password", **LIMITS).token
        conn.execute(update(staff_sessions).values(expires_at=utcnow() - timedelta(seconds=1)))
    with db.read() as conn:
        assert staff.session_for(conn, token) is None


def test_wrong_passwords_lock_an_address_until_the_window_passes(db):
    with db.write() as conn:
        staff.add(conn, "ann@example.com", "long enough password")
    for _ in range(2):
        with db.write() as conn:
            refused = staff.sign_in(conn, "ann@example.com", "wrong", **LIMITS).refused
        assert refused.status == 401
    with db.write() as conn:
        refused = staff.sign_in(conn, "ann@example.com", "wrong", **LIMITS).refused
    assert refused.status == 429 and "locked for 15 minutes" in refused.detail
    with db.write() as conn:
        still = staff.sign_in(conn, "ann@example.com", "long enough password", **LIMITS).refused
    assert still is not None and "Try again in 15 minutes" in still.detail
    with db.write() as conn:  # the window has passed
        past = utcnow() - timedelta(minutes=16)
        conn.execute(update(sign_in_throttle).values(locked_until=past, first_failure_at=past))
        assert staff.sign_in(conn, "ann@example.com", "long enough password", **LIMITS).refused is None
    with db.read() as conn:
        assert conn.execute(select(sign_in_throttle)).first() is None  # a success clears the count


def test_unknown_addresses_are_counted_too(db):
    for _ in range(3):
        with db.write() as conn:
            refused = staff.sign_in(conn, "nobody@example.com", "guess", **LIMITS).refused
    assert refused.status == 429


def _cli(*args, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([CLI, "staff", *args], input=stdin, capture_output=True, text=True, timeout=60)


def test_cli_adds_lists_and_removes_staff_with_the_password_from_stdin(sqlite_url):
    added = _cli("add", "ann@example.com", "--database", sqlite_url, stdin="long enough password\n")
    assert added.returncode == 0, added.stderr
    assert "Added staff account ann@example.com" in added.stdout
    listed = _cli("list", "--database", sqlite_url)
    assert "ann@example.com" in listed.stdout and "last signed in never" in listed.stdout
    db = Database(sqlite_url)
    with db.write() as conn:
        assert staff.sign_in(conn, "ann@example.com", "long enough password", **LIMITS).refused is None
    db.dispose()
    short = _cli("add", "bob@example.com", "--database", sqlite_url, stdin="short\n")
    assert short.returncode == 1 and "at least 10 characters" in short.stderr
    on_command_line = _cli("add", "bob@example.com", "long enough password", "--database", sqlite_url)
    assert on_command_line.returncode == 2  # there is no place for a password among the arguments
    assert _cli("remove", "ann@example.com", "--database", sqlite_url).returncode == 0
    assert "No staff accounts yet" in _cli("list", "--database", sqlite_url).stdout
