"""Staff accounts for the dashboard: scrypt hashes, sign-in with a throttle, sessions, the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from central.db.engine import Database
from central.db.migrate import upgrade
from central.db.schema import staff as staff_table
from central.db.schema import staff_sessions, staff_tokens, utcnow
from central.problems import status_of
from central.services import staff
from vouchers.errors import Conflict, InvalidInput, NotFound

CLI = str(Path(sys.executable).parent / "voucher-central")
CHEAP = 12  # scrypt cost (log2 N) for these tests' many hashes; the default is OWASP's 17
LIMITS = {"hours": 12, "log2_n": CHEAP}


@pytest.fixture
def db(database_url):
    database = Database(database_url)
    upgrade(database)
    yield database
    database.dispose()


def test_passwords_are_salted_scrypt_hashes_at_owasps_cost():
    first, second = staff.hash_password("same password"), staff.hash_password("same password")
    assert first.startswith("scrypt$131072$8$1$") and first != second  # N=2^17, r=8, p=1; a salt per hash
    assert staff.password_matches("same password", first) and staff.password_matches("same password", second)
    assert not staff.password_matches("other password", first)
    assert not staff.password_matches("same password", "garbage")


def test_an_older_cheaper_hash_is_upgraded_at_the_next_sign_in(db):
    with db.write() as conn:
        staff.add(conn, "old@example.com", "long enough password", log2_n=11)  # as hashed before issue 13
    with db.write() as conn:
        assert staff.sign_in(conn, "old@example.com", "wrong password", **LIMITS).refused is not None
    with db.read() as conn:
        assert conn.execute(select(staff_table.c.password_hash)).scalar_one().startswith("scrypt$2048$")
    with db.write() as conn:
        assert (
            staff.sign_in(conn, "old@example.com", "long enough password", **{**LIMITS, "log2_n": 17}).refused
            is None
        )
    with db.read() as conn:
        upgraded = conn.execute(select(staff_table.c.password_hash)).scalar_one()
    assert upgraded.startswith("scrypt$131072$8$1$") and staff.password_matches(
        "long enough password", upgraded
    )


def test_accounts_add_list_remove(db):
    with db.write() as conn:
        staff.add(conn, " Ann@Example.COM ", "long enough password", log2_n=CHEAP)
        with pytest.raises(Conflict):
            staff.add(conn, "ann@example.com", "another long password", log2_n=CHEAP)
        with pytest.raises(InvalidInput, match="at least 10"):
            staff.add(conn, "bob@example.com", "short", log2_n=CHEAP)
        with pytest.raises(InvalidInput, match="not an e-mail address"):
            staff.add(conn, "bob", "long enough password", log2_n=CHEAP)
    with db.read() as conn:
        assert [a.email for a in staff.list_all(conn)] == ["ann@example.com"]
    with db.write() as conn:
        outcome = staff.sign_in(conn, "ann@example.com", "long enough password", **LIMITS)
        with pytest.raises(staff.LastAdmin, match="ann@example.com is the last enabled admin"):
            staff.remove(conn, "ann@example.com")
        staff.add(conn, "bob@example.com", "long enough password", log2_n=CHEAP)  # a second admin
        staff.remove(conn, "ann@example.com")
        with pytest.raises(NotFound):
            staff.remove(conn, "ann@example.com")
    with db.read() as conn:
        assert staff.session_for(conn, outcome.token) is None  # removing ends the sessions
        assert [a.email for a in staff.list_all(conn)] == ["bob@example.com"]


def test_sign_in_gives_a_session_and_sign_out_ends_it(db):
    with db.write() as conn:
        staff.add(conn, "ann@example.com", "long enough password", log2_n=CHEAP)
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
        staff.add(conn, "ann@example.com", "long enough password", log2_n=CHEAP)
        token = staff.sign_in(conn, "ann@example.com", "long enough password", **LIMITS).token
        conn.execute(update(staff_sessions).values(expires_at=utcnow() - timedelta(seconds=1)))
    with db.read() as conn:
        assert staff.session_for(conn, token) is None


def test_a_wrong_password_and_an_unknown_address_read_the_same(db):
    with db.write() as conn:
        staff.add(conn, "ann@example.com", "long enough password", log2_n=CHEAP)
        wrong = staff.sign_in(conn, "ann@example.com", "wrong", **LIMITS).refused
        nobody = staff.sign_in(conn, "nobody@example.com", "wrong", **LIMITS).refused
    assert status_of(wrong) == status_of(nobody) == 401 and wrong.detail == nobody.detail
    # how often one may fail is the sign-in page's (per account and client address): tests/central/test_limits.py


def test_roles_and_personal_api_tokens(db):
    with db.write() as conn:
        staff.add(conn, "viewer@example.com", "long enough password", role="viewer", log2_n=CHEAP)
        made = staff.create_token(conn, "Viewer@Example.com", "laptop", 30)
        with pytest.raises(InvalidInput):
            staff.create_token(conn, "viewer@example.com", "too long", 400)
    assert made.token.startswith("vks_") and made.expires_at > utcnow() + timedelta(days=29)
    with db.read() as conn:
        holder = staff.holder_of(conn, made.token)
        [listed] = staff.list_tokens(conn)
        stored = conn.execute(select(staff_tokens.c.token_hash)).scalar_one()
    assert (holder.email, holder.role) == ("viewer@example.com", "viewer") and made.token not in stored
    assert not hasattr(listed, "token") and listed.name == "laptop"
    with db.write() as conn:
        assert staff.set_role(conn, "viewer@example.com", "campaigns") == staff.RoleChange(
            email="viewer@example.com", before="viewer", after="campaigns"
        )
        assert staff.holder_of(conn, made.token).role == "campaigns"  # the role is the account's, now
        conn.execute(update(staff_tokens).values(expires_at=utcnow() - timedelta(seconds=1)))
        assert staff.holder_of(conn, made.token) is None  # expired
        second = staff.create_token(conn, "viewer@example.com", "phone", 30)
        revoked = staff.revoke_token(conn, second.id)
        assert revoked.id == second.id and revoked.revoked_at is not None
        assert staff.holder_of(conn, second.token) is None  # revoked
        third = staff.create_token(conn, "viewer@example.com", "desk", 30)
        staff.remove(conn, "viewer@example.com")
        assert staff.holder_of(conn, third.token) is None  # the account is gone


def test_the_last_enabled_admin_cannot_be_demoted_disabled_or_removed(db):
    with db.write() as conn:
        staff.add(conn, "ann@example.com", "long enough password", log2_n=CHEAP)
        staff.add(conn, "vic@example.com", "long enough password", role="viewer", log2_n=CHEAP)
        for change in (
            lambda: staff.set_role(conn, "ann@example.com", "campaigns"),
            lambda: staff.set_disabled(conn, "ann@example.com", True),
            lambda: staff.remove(conn, "ann@example.com"),
        ):
            with pytest.raises(staff.LastAdmin) as refused:
                change()
            assert (
                status_of(refused.value) == 409
                and "Make another account admin first." in refused.value.detail
            )
        staff.add(conn, "bob@example.com", "long enough password", log2_n=CHEAP)
        staff.set_disabled(conn, "bob@example.com", True)  # a disabled admin does not count
        with pytest.raises(staff.LastAdmin):
            staff.set_role(conn, "ann@example.com", "viewer")
        staff.set_disabled(conn, "bob@example.com", False)
        assert staff.set_role(conn, "ann@example.com", "viewer").after == "viewer"
        with pytest.raises(staff.LastAdmin):  # bob is the last one now
            staff.set_disabled(conn, "bob@example.com", True)
    with db.read() as conn:
        assert {a.email: a.role for a in staff.list_all(conn)} == {
            "ann@example.com": "viewer",
            "bob@example.com": "admin",
            "vic@example.com": "viewer",
        }


def test_a_disabled_account_cannot_sign_in_and_its_sessions_and_tokens_stop_until_enabled(db):
    with db.write() as conn:
        staff.add(conn, "ann@example.com", "long enough password", log2_n=CHEAP)
        staff.add(conn, "cat@example.com", "long enough password", role="campaigns", log2_n=CHEAP)
        session = staff.sign_in(conn, "cat@example.com", "long enough password", **LIMITS)
        token = staff.create_token(conn, "cat@example.com", "laptop", 30).token
        assert staff.set_disabled(conn, "cat@example.com", True) == staff.DisabledChange(
            email="cat@example.com", before=False, after=True
        )
        assert staff.session_for(conn, session.token) is None and staff.holder_of(conn, token) is None
        refused = staff.sign_in(conn, "cat@example.com", "long enough password", **LIMITS).refused
        assert refused.detail == "This account is disabled. Ask an admin of head office to enable it."
        wrong = staff.sign_in(conn, "cat@example.com", "wrong password", **LIMITS).refused
        assert (
            wrong.detail == "The e-mail address or the password is wrong."
        )  # nothing said without the password
        assert [a.disabled_at is not None for a in staff.list_all(conn)] == [False, True]
        staff.set_disabled(conn, "cat@example.com", False)
        assert staff.holder_of(conn, token).email == "cat@example.com"  # an unexpired token works again
        assert staff.sign_in(conn, "cat@example.com", "long enough password", **LIMITS).refused is None


def _cli(*args, stdin: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "VOUCHER_PASSWORD_HASH_COST": str(CHEAP)}
    return subprocess.run(
        [CLI, "staff", *args], input=stdin, capture_output=True, text=True, timeout=60, env=env
    )


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
    last = _cli("remove", "ann@example.com", "--database", sqlite_url)
    assert last.returncode == 1 and "ann@example.com is the last enabled admin" in last.stderr
    assert "Traceback" not in last.stderr
    added = _cli(
        "add", "bob@example.com", "--role", "admin", "--database", sqlite_url, stdin="long enough password\n"
    )
    assert added.returncode == 0, added.stderr
    assert _cli("remove", "ann@example.com", "--database", sqlite_url).returncode == 0
    listed = _cli("list", "--database", sqlite_url).stdout
    assert "bob@example.com" in listed and "ann@example.com" not in listed
