"""voucher-central's admin commands against a real server process, and the demo command."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from support.api import ADMIN_TOKEN

from central.demo import VERDICT_LABELS
from harness import ServerProcess, free_port, spawn
from vouchers.verdict import VOUCHER_VERDICTS
from words import words_for

CLI = str(Path(sys.executable).parent / "voucher-central")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "central.db"
    with ServerProcess(f"sqlite:///{path}") as process:
        yield process


def run(server, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "VOUCHER_TOKEN": server.staff_token(), "VOUCHER_SERVER": server.url}
    result = subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=60)
    if ok:
        assert result.returncode == 0, result.stderr
    return result


def test_help_explains_every_command():
    out = subprocess.run([CLI, "--help"], capture_output=True, text=True).stdout
    for command in (
        "serve",
        "migrate",
        "demo",
        "staff",
        "store",
        "batch",
        "voucher",
        "device",
        "integration",
        "audit",
    ):
        assert command in out
    batch_help = subprocess.run([CLI, "batch", "--help"], capture_output=True, text=True).stdout
    for action in (
        "create",
        "add-type",
        "validate",
        "generate",
        "wait",
        "distribute",
        "redeemable",
        "lock",
        "void",
        "pause",
        "resume",
        "delete",
        "export",
        "qr",
    ):
        assert action in batch_help


def test_a_batch_from_creation_to_deletion(server, tmp_path):
    run(server, "store", "create", "leeds", "Leeds Briggate", "--timezone", "Europe/London")
    assert "leeds" in run(server, "store", "list").stdout
    code = run(server, "store", "enrolment-code", "leeds").stdout
    assert re.match(r"^[0-9A-Z]{4}-[0-9A-Z]{4}  \(store leeds", code)
    created = run(
        server,
        "batch",
        "create",
        "--identifier",
        "Spring",
        "--serial-start",
        "1",
        "--serial-end",
        "50",
        "--channel",
        "email",
    ).stdout
    bid = created.split()[0]
    assert "configuring" in created
    invalid = run(server, "batch", "validate", bid, ok=False)
    assert invalid.returncode == 1 and "types: A batch needs at least one batch type" in invalid.stderr
    run(server, "batch", "add-type", bid, "--name", "Std", "--value", "£5 off")
    assert "validated" in run(server, "batch", "validate", bid).stdout
    run(server, "batch", "generate", bid)
    assert "generated" in run(server, "batch", "wait", bid).stdout
    refused = run(server, "batch", "redeemable", bid, ok=False)
    assert "allowed now: distribute, void" in refused.stderr
    for step in ("distribute", "redeemable", "pause"):
        run(server, "batch", step, bid)
    assert "Paused" in run(server, "batch", "list").stdout
    out = tmp_path / "v.csv"
    run(server, "batch", "export", bid, "-o", str(out))
    assert len(out.read_text().splitlines()) == 51
    run(server, "batch", "qr", bid, "-o", str(tmp_path / "qr.png"))
    assert (tmp_path / "qr.png").read_bytes().startswith(b"\x89PNG")
    ask = run(server, "batch", "delete", bid, ok=False)
    assert "50 vouchers will be permanently deleted" in ask.stdout and "--confirm 50" in ask.stdout
    run(server, "batch", "delete", bid, "--confirm", "50")
    assert bid not in run(server, "batch", "list").stdout


def test_errors_are_words_not_tracebacks(server):
    wrong = subprocess.run(
        [CLI, "batch", "list", "--server", server.url],
        capture_output=True,
        text=True,
        env={**os.environ, "VOUCHER_TOKEN": "wrong"},
    )
    assert (
        wrong.returncode == 1 and "Missing or wrong token" in wrong.stderr and "Traceback" not in wrong.stderr
    )
    shared = subprocess.run(
        [CLI, "batch", "list", "--server", server.url],
        capture_output=True,
        text=True,
        env={
            **{k: v for k, v in os.environ.items() if k != "VOUCHER_TOKEN"},
            "VOUCHER_ADMIN_TOKEN": ADMIN_TOKEN,
        },
    )
    assert shared.returncode == 1 and "only bootstraps the first staff account" in shared.stderr
    down = run(server, "batch", "list", "--server", f"http://127.0.0.1:{free_port()}", ok=False)
    assert down.returncode == 1 and "Cannot reach the server" in down.stderr


def test_serve_refuses_to_start_without_an_admin_token(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "VOUCHER_ADMIN_TOKEN"}
    result = subprocess.run(
        [CLI, "serve", "--database", f"sqlite:///{tmp_path / 'c.db'}", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,  # it loads the whole server before it looks at its settings: seconds on a busy machine
    )
    assert result.returncode == 2 and "VOUCHER_ADMIN_TOKEN" in result.stderr


@pytest.mark.slow
def test_demo_seeds_every_state_and_prints_codes(tmp_path):
    port, data = free_port(), tmp_path / "demo"
    words = words_for("de", "central")  # the demo's words in its language (English until translated)
    process = spawn(  # dies with the test run, however it ends
        [CLI, "demo", "--port", str(port), "--data-dir", str(data), "--large-batch", "5000"]
        + ["--locale", "de"],  # make demo DEMO_LANG=de
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            lines.append(line)
            if "voucher-kiosk run --camera" in line:  # the summary's last line: a command, in any language
                break
        text = "".join(lines)
        assert (data / "summary.txt").read_text().rstrip("\n") in text  # what harness/demo.py shows
        tries = dict(line.split("\t") for line in (data / "codes.tsv").read_text().splitlines())
        # each has a code to try (tests/e2e/test_demo.py tries them at a till), printed with its name
        assert {v.value for v in VOUCHER_VERDICTS} <= {name.split()[0] for name in tries}
        for name, code in tries.items():
            label = words.gettext(VERDICT_LABELS[name])
            assert re.search(rf"^  {re.escape(label)}\s+{code}$", text, re.MULTILINE), name
        assert oct((data / "admin-token").stat().st_mode)[-3:] == "600"
        token = (data / "api-token").read_text().strip()  # hq@demo.example's own
        assert oct((data / "api-token").stat().st_mode)[-3:] == "600"
        api = httpx.Client(
            base_url=f"http://127.0.0.1:{port}/api/v1", headers={"Authorization": f"Bearer {token}"}
        )
        batches = api.get("/batches").json()
        states = {b["state"] for b in batches}
        assert {
            "configuring",
            "validated",
            "generated",
            "distributed",
            "redeemable",
            "locked",
            "void",
        } <= states
        assert any(b["claims"] == "paused" for b in batches)
        stores = api.get("/stores").json()
        assert {s["locale"] for s in stores} == {"de"}  # the stores' tills speak German
        assert {s["name"] for s in stores} == {
            words.gettext("Demo Shop, High Street"),
            words.gettext("Other Shop, Station Road"),
        }
        assert any(b["metrics"]["redeemed"] > 0 for b in batches)

        # the unclaimed code stays unclaimed: a member signing up on the main batch's claim page (the
        # batch of the ACCEPTED code) gets another, as do the two-till demo's shop codes
        unclaimed = tries["UNKNOWN (unclaimed)"]
        main_id = api.get(f"/vouchers/{tries['ACCEPTED']}").json()["batch_id"]
        main = api.get(f"/batches/{main_id}").json()
        for member in ("newcomer@example.com", "shop-first@example.com", "shop-second@example.com"):
            claimed = api.post("/claims", json={"claim_token": main["claim_token"], "member_id": member})
            assert claimed.status_code in (200, 201), claimed.text
            assert claimed.json()["code"] not in tries.values()
        assert api.get(f"/vouchers/{unclaimed}").json()["claim"] is None

        # the dashboard: its URL and a staff account's credentials are printed, and they work
        password = (data / "dashboard-password").read_text().strip()
        assert oct((data / "dashboard-password").stat().st_mode)[-3:] == "600"
        url = f"http://127.0.0.1:{port}"
        assert f"{url}/dashboard" in text and "hq@demo.example" in text and password in text
        with httpx.Client(base_url=url) as web:
            form = web.get("/dashboard/sign-in").text
            sign_in_token = re.search(r'name="sign_in_token" value="([^"]+)"', form)[1]
            answer = web.post(
                "/dashboard/sign-in",
                data={"email": "hq@demo.example", "password": password, "sign_in_token": sign_in_token},
            )
            assert answer.status_code == 303 and answer.headers["location"] == "/dashboard/batches"
            assert words.gettext("Q1 2026 Email Campaign") in web.get("/dashboard/batches").text
        api.close()
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(90)  # the server stops, then the mail server; slow on a busy two-core machine
    assert process.returncode == 0


def test_a_store_s_locale_is_set_from_the_command_line(server):
    made = run(server, "store", "create", "lyon", "Lyon", "--timezone", "Europe/Paris", "--locale", "fr-FR")
    assert "lyon" in made.stdout and "fr_FR" in made.stdout
    changed = run(server, "store", "locale", "lyon", "de_CH")
    assert "Europe/Paris, de_CH" in changed.stdout
    assert "de_CH" not in run(server, "store", "locale", "lyon", "none").stdout
    wrong = run(server, "store", "locale", "lyon", "klingon", ok=False)
    assert (
        wrong.returncode == 1
        and "unknown locale 'klingon'" in wrong.stderr
        and "Traceback" not in wrong.stderr
    )
