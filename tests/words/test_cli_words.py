"""The command lines speak the language of their environment's locale (issue 18.1).

`voucher-central`, `voucher-sync` and `voucher-hub` are run as processes with LANG set to French,
German, Spanish or C (and without any locale variable), against a real head-office server and
real till and hub files; each test asserts words of the catalogue, the exit status, and that
`--json` is the same answer whatever the locale. The status report's reasons are also checked to
read, in English, exactly as the judgement (localdb/health.py) words them for `--json`.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from harness import BIN, FAST_ENV, ServerProcess
from hub.store import HubStore
from localdb import wording as store_words
from localdb.health import Health, Limits, _problems
from localdb.journal import Journal
from localdb.journals import JournalLoss
from localdb.replica import Replica
from localdb.till import Outcome
from sync import report
from vouchers.verdict import Verdict
from vouchers.wording import Said, said
from words import words_for

LOCALE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LC_CTYPE", "LANG")
FRENCH, GERMAN, SPANISH, C = "fr_FR.UTF-8", "de_DE.UTF-8", "es_ES.UTF-8", "C"


def environment(lang: str | None, **extra: str) -> dict[str, str]:
    """This process's environment without any locale variable, then LANG (None: no locale at all).

    This machine has no French, German or Spanish locale installed, and Python then sets LC_CTYPE
    to C.UTF-8 at start-up (PEP 538), which Babel reads before LANG: PYTHONCOERCECLOCALE=0 keeps
    the environment as a till with those locales installed has it."""
    env = {k: v for k, v in os.environ.items() if k not in LOCALE_VARIABLES and not k.startswith("VOUCHER_")}
    env["PYTHONCOERCECLOCALE"] = "0"
    if lang is not None:
        env["LANG"] = lang
    return {**env, **extra}


def run(program: str, *args: str, lang: str | None, env: Mapping[str, str] | None = None):
    done = subprocess.run(
        [str(BIN / program), *args],
        env=environment(lang, **(env or {})),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    return done


@pytest.fixture(scope="module")
def office(tmp_path_factory):
    path = tmp_path_factory.mktemp("office") / "central.db"
    with ServerProcess(f"sqlite:///{path}") as server:
        yield server


def central(office, *args: str, lang: str | None):
    env = {"VOUCHER_TOKEN": office.staff_token(), "VOUCHER_SERVER": office.url}
    return run("voucher-central", *args, lang=lang, env=env)


# --- voucher-central -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "lang, created, unknown",
    [
        (FRENCH, "Magasin {id} « Boutique » créé (Europe/Paris).", "erreur : Introuvable (404) : "),
        (GERMAN, "Filiale {id} „Boutique“ angelegt (Europe/Paris).", "Fehler: Nicht gefunden (404): "),
        (SPANISH, "Tienda {id} «Boutique» creada (Europe/Paris).", "error: No encontrado (404): "),
        (C, "Created store {id} 'Boutique' (Europe/Paris).", "error: Not found (404): "),
        (None, "Created store {id} 'Boutique' (Europe/Paris).", "error: Not found (404): "),
    ],
)
def test_a_store_created_and_an_unknown_store_in_the_locale_s_words(office, lang, created, unknown):
    store_id = f"shop-{(lang or 'none').split('_')[0].lower()}"
    done = central(office, "store", "create", store_id, "Boutique", "--timezone", "Europe/Paris", lang=lang)
    assert done.returncode == 0 and done.stdout.strip() == created.format(id=store_id), done.stderr
    missing = central(office, "store", "show", "no-such-store", lang=lang)
    assert missing.returncode == 1 and missing.stdout == ""
    assert missing.stderr.startswith(unknown), missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1


def test_a_device_list_and_a_missing_token_are_worded(office):
    central(office, "store", "create", "empty-shop", "Empty", lang=C)
    german = central(office, "device", "list", "--store", "empty-shop", lang=GERMAN)
    assert german.returncode == 0 and german.stdout.strip() == "Keine Geräte in Filiale empty-shop."
    no_token = run("voucher-central", "store", "list", "--server", office.url, lang=SPANISH)
    assert no_token.returncode == 1
    assert no_token.stderr.startswith("error: No hay token de API: Ponga en VOUCHER_TOKEN su token")
    french = run("voucher-central", "batch", "list", "--server", office.url, lang=FRENCH)
    assert french.stderr.startswith("erreur : Pas de jeton d'API : Mettez votre jeton d'API personnel")


def test_json_answers_are_the_same_in_every_locale(office):
    central(office, "store", "create", "json-shop", "JSON", lang=C)
    answers = {
        lang: central(office, "store", "show", "json-shop", "--json", lang=lang).stdout
        for lang in (FRENCH, GERMAN, C)
    }
    assert answers[FRENCH] == answers[GERMAN] == answers[C]
    assert json.loads(answers[C])["id"] == "json-shop"


def test_help_and_argparse_s_own_words_are_worded(office):
    spanish = run("voucher-central", "store", "--help", lang=SPANISH)
    assert spanish.returncode == 0 and "tiendas, códigos de registro y dispositivos" in spanish.stdout
    assert (
        spanish.stdout.startswith("uso: voucher-central store")
        and "mostrar esta ayuda y salir" in spanish.stdout
    )
    french = run("voucher-central", "batch", "create", "--help", lang=FRENCH)
    assert "votre nom pour la campagne" in french.stdout and "--identifier" in french.stdout
    assert french.stdout.startswith("utilisation : ") and "\noptions:\n" in french.stdout
    german = run("voucher-central", "batch", "create", lang=GERMAN)
    assert (
        german.returncode == 2
        and "voucher-central batch create: Fehler: diese Argumente fehlen: --identifier" in german.stderr
    )
    english = run("voucher-central", "store", "--help", lang=C)
    assert "stores, enrolment codes and devices" in english.stdout and english.stdout.startswith("usage: ")


# --- voucher-sync ----------------------------------------------------------------------------


def snapshot_page() -> dict:
    """One complete page of a snapshot: a store, a batch, one claimed voucher."""
    return {
        "cursor": 0,
        "next_cursor": 5,
        "complete": True,
        "store": {"id": "s1", "timezone": "Europe/Paris"},
        "batches": [
            {
                "id": "b1",
                "identifier": "Printemps",
                "description": "",
                "state": "redeemable",
                "claims": "active",
                "valid_from": None,
                "valid_until": None,
                "stores": None,
            }
        ],
        "types": [
            {
                "id": "t1",
                "batch_id": "b1",
                "name": "Std",
                "value": "5 €",
                "min_purchase": None,
                "initial_status": "unused",
            }
        ],
        "vouchers": [
            {
                "id": "b1.1",
                "batch_id": "b1",
                "type_id": "t1",
                "serial": 1,
                "code_hash": "h1",
                "claimed": True,
                "status": "unused",
                "used_at": None,
                "used_store": None,
            }
        ],
        "deleted": {"batches": [], "types": [], "vouchers": []},
    }


def sync_status(data_dir: Path, *args: str, lang: str | None):
    return run("voucher-sync", "status", "--data-dir", str(data_dir), *args, lang=lang, env=FAST_ENV)


def test_status_of_a_till_that_never_pulled(tmp_path):
    Replica(tmp_path / "replica.db").close()
    french = sync_status(tmp_path, lang=FRENCH)
    assert french.returncode == 1
    lines = french.stdout.splitlines()
    assert lines[0] == "DÉGRADÉ : aucun instantané n'a jamais été récupéré du siège"
    assert "dernière récupération jamais" in french.stdout and "0 conflit(s), 0 refus" in french.stdout
    german = sync_status(tmp_path, lang=GERMAN)
    assert german.stdout.splitlines()[0] == "BEEINTRÄCHTIGT: noch nie einen Snapshot von der Zentrale geholt"
    assert "letzter Abruf" in german.stdout and "ausstehende Ereignisse 0" in german.stdout
    english = sync_status(tmp_path, lang=None)
    assert english.stdout.splitlines()[0] == "DEGRADED: never pulled a snapshot from head office"
    assert "last pull  never" in english.stdout


def test_status_of_a_healthy_till_with_its_times_in_the_locale_s_format(tmp_path):
    replica = Replica(tmp_path / "replica.db")
    replica.apply_page(snapshot_page())
    replica.close()
    Journal(tmp_path / "journal.db").close()
    spanish = sync_status(tmp_path, lang=SPANISH)
    assert spanish.returncode == 0, spanish.stdout + spanish.stderr
    lines = spanish.stdout.splitlines()
    assert lines[0] == "correcto"
    assert lines[1] == "tienda s1   cursor de la instantánea 5   eventos pendientes 0"
    pull = next(line for line in lines if line.startswith("última descarga"))
    today = words_for("es", "store").date(datetime.now(UTC))
    assert ("ahora mismo (" in pull or "hace " in pull) and today in pull and "UTC" in pull
    french = sync_status(tmp_path, lang=FRENCH)
    assert french.stdout.splitlines()[0] == "en bon état"
    as_json = {lang: sync_status(tmp_path, "--json", lang=lang).stdout for lang in (FRENCH, SPANISH, C)}
    assert as_json[FRENCH] == as_json[SPANISH] == as_json[C]
    assert json.loads(as_json[C])["status"] == "healthy"


def test_an_unreadable_till_is_said_in_the_locale_s_words(tmp_path):
    missing = tmp_path / "nowhere"
    german = sync_status(missing, lang=GERMAN)
    assert german.returncode == 2 and german.stdout == ""
    assert german.stderr.startswith("Fehler: Keine Kassendateien: "), german.stderr
    detail = words_for("de", "store").gettext(
        "the data directory {path} does not exist (is data_dir right?)", path=missing
    )
    assert (
        detail in german.stderr and "does not exist" not in german.stderr
    )  # the detail too, not only the title
    as_json = {lang: sync_status(missing, "--json", lang=lang).stdout for lang in (GERMAN, C)}
    assert as_json[GERMAN] == as_json[C] and json.loads(as_json[C])["status"] == "unreadable"


def test_the_agent_s_last_error_is_worded_from_the_facts_it_kept(tmp_path):
    """The agent keeps its last error with its facts; `status` words it in the reader's language,
    while --json keeps the English."""
    replica = Replica(tmp_path / "replica.db")
    cause = said(
        "{request}: no answer from the server ({cause})",
        request="GET /sync/snapshot",
        cause="ConnectError: [Errno 111] Connection refused",
    )
    told = said(
        "{loop}: {title}: {detail}",
        loop="pull",
        title=Said("Server unreachable or answering badly"),
        detail=cause,
    )
    replica.set_health(last_error=told, last_error_at=datetime.now(UTC).isoformat())
    replica.close()
    french = sync_status(tmp_path, lang=FRENCH).stdout
    worded = words_for("fr", "store").say(told)
    assert worded in french and "no answer from the server" not in french
    assert "[Errno 111] Connection refused" in worded  # what the system said stays its own
    as_json = json.loads(sync_status(tmp_path, "--json", lang=FRENCH).stdout)
    assert as_json["last_error"] == told.english()
    # a plain text written later replaces it, and the kept words with it
    replica = Replica(tmp_path / "replica.db")
    replica.set_health(last_error="pull: something", last_error_at=datetime.now(UTC).isoformat())
    replica.close()
    assert "pull: something" in sync_status(tmp_path, lang=FRENCH).stdout


def test_a_wrong_setting_is_said_in_the_locale_s_words(tmp_path):
    words = words_for("de", "store")
    for text, problem in (
        ('live_wait_seconds = "soon"\n', "must be a number"),
        ("live_wait_gap_seconds = 11\n", "must be at most {le}"),
        ("no_such_setting = 1\n", "is not a setting of this program (a typo?)"),
    ):
        config = tmp_path / "agent.toml"
        config.write_text(text)
        german = run("voucher-sync", "status", "--config", str(config), lang=GERMAN, env=FAST_ENV)
        assert german.returncode != 0 and "Traceback" not in german.stderr
        assert words.gettext(problem, le=10) in german.stderr, german.stderr
        assert "Input should be" not in german.stderr and "Extra inputs" not in german.stderr
    missing = run(
        "voucher-sync", "status", "--config", str(tmp_path / "none.toml"), lang=GERMAN, env=FAST_ENV
    )
    assert (
        words.gettext("Configuration file {file} does not exist.", file=tmp_path / "none.toml")
        in missing.stderr
    )


@pytest.mark.parametrize(
    "lang, words",
    [
        (FRENCH, "erreur : Code d'inscription non valable : "),
        (GERMAN, "Fehler: Registrierungscode ungültig: "),
        (SPANISH, "error: Código de registro no válido: "),
        (C, "error: Enrolment code not valid: "),
    ],
)
def test_an_enrolment_refused_by_head_office(office, tmp_path, lang, words):
    done = run(
        "voucher-sync",
        "enrol",
        "--server",
        office.url,
        "--code",
        "NO-SUCH-CODE",
        "--data-dir",
        str(tmp_path),
        lang=lang,
    )
    assert done.returncode == 1 and done.stderr.startswith(words), done.stderr
    assert not (tmp_path / "device.json").exists()


# --- voucher-hub -----------------------------------------------------------------------------


def test_hub_status_and_its_errors(tmp_path):
    state = tmp_path / "hub"
    absent = run("voucher-hub", "status", "--state-dir", str(state), lang=SPANISH)
    assert absent.returncode == 2
    assert absent.stderr.startswith(f"error: No hay base de datos del hub: No existe {state / 'hub.db'}: ")
    state.mkdir()
    HubStore(state / "hub.db").close()
    german = run("voucher-hub", "status", "--state-dir", str(state), lang=GERMAN)
    assert german.returncode == 0, german.stderr
    assert german.stdout.splitlines()[0] == "Filiale ?   noch kein Snapshot von der Zentrale"
    assert "letzter Kontakt mit der Zentrale  nie" in german.stdout
    assert "0 Gerät(e) der Filiale:" in german.stdout
    english = run("voucher-hub", "status", "--state-dir", str(state), lang=C)
    assert "store ?   no snapshot from head office yet" in english.stdout
    as_json = {
        lang: run("voucher-hub", "status", "--json", "--state-dir", str(state), lang=lang).stdout
        for lang in (GERMAN, C)
    }
    assert as_json[GERMAN] == as_json[C]
    help_text = run("voucher-hub", "enrol", "--help", lang=FRENCH).stdout
    assert "inscrire ce hub" in help_text.lower() and help_text.startswith("utilisation : voucher-hub enrol")


# --- the report's English is the judgement's -------------------------------------------------

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
LIMITS = Limits(offline=timedelta(minutes=15), stale=timedelta(hours=24))


def outcome(**given: object) -> Outcome:
    fields: dict[str, object] = {
        "event_id": "e1",
        "seq": 3,
        "kind": "redeem",
        "voucher_id": "b1.1",
        "outcome": "conflict",
        "reason": "ALREADY_USED",
        "winner_store": "s9",
        "winner_device": "d9",
        "winner_at": "2026-12-01T10:00:00+00:00",
        "server_time": None,
    }
    return Outcome(**{**fields, **given})


LOSSES = (
    JournalLoss("j1", "missing", None, acknowledged=4, unsent=0),
    JournalLoss("j2", "replaced", "2026-12-02T11:00:00+00:00", acknowledged=3, unsent=2),
    JournalLoss("j3", "rewound", "2026-12-02T11:30:00+00:00", acknowledged=9, unsent=0, held=6),
)
HEALTHS = (
    Health(),
    Health(stopped="device revoked", last_pull_at=NOW - timedelta(days=3), cursor=4),
    Health(last_pull_at=NOW - timedelta(minutes=20), snapshot_complete=True, cursor=8),
    Health(last_pull_at=NOW, cursor=8, snapshot_progress=42),
    Health(last_pull_at=NOW, cursor=8),
    Health(last_pull_at=NOW, cursor=0),
    Health(
        last_pull_at=NOW,
        snapshot_complete=True,
        cursor=8,
        conflicts=(outcome(), outcome(winner_store=None, winner_device=None)),
        rejections=(outcome(outcome="rejected", reason="BATCH_LOCKED"),),
        journal_losses=LOSSES,
    ),
)


@pytest.mark.parametrize("health", HEALTHS)
def test_the_report_s_english_reasons_are_the_judgement_s(health):
    english = words_for("en", "store")
    assert report.problems(english, health, LIMITS, NOW) == _problems(health, LIMITS, NOW)
    french = report.problems(words_for("fr", "store"), health, LIMITS, NOW)
    assert len(french) == len(_problems(health, LIMITS, NOW))


def test_the_report_s_english_losses_and_outcomes_are_their_own():
    english = words_for("en", "store")
    for loss in LOSSES:
        assert store_words.loss(english, loss) == loss.words()
    won = outcome(won=True, store_id="s2", device_id="d2", at="2026-12-02T09:00:00+00:00")
    for o in (
        outcome(),
        outcome(winner_device=None),
        outcome(winner_store=None),
        outcome(outcome="rejected"),
        won,
    ):
        assert store_words.outcome_details(english, o) == o.details()
    assert store_words.outcome_details(words_for("de", "store"), outcome()).startswith(
        "bereits in Filiale s9 (Gerät d9)"
    )


def test_durations_follow_the_till_s_units_in_each_language():
    from vouchers.ages import ago, duration

    english = words_for("en", "store")
    for seconds in (0, 1, 9, 47, 60, 61, 3599, 3600, 7200, 47 * 3600, 48 * 3600, 5 * 86400):
        delta = timedelta(seconds=seconds)
        assert report.duration(english, delta) == duration(delta)
        assert report.ago(english, delta) == ago(delta)
    assert report.ago(words_for("fr", "store"), timedelta(hours=5)) == "il y a 5 heures"
    assert report.ago(words_for("de", "store"), timedelta(days=3)) == "vor 3 Tagen"


# --- argparse's own words -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "usage", "error"),
    [
        (
            "fr",
            "utilisation : voucher-hub",
            "voucher-hub : erreur : argument COMMANDE : choix invalide : 'nope' (possibles : 'enrol'",
        ),
        (
            "de",
            "Aufruf: voucher-hub",
            "voucher-hub: Fehler: Argument BEFEHL: ungültige Auswahl: 'nope' (möglich: 'enrol'",
        ),
        (
            "es",
            "uso: voucher-hub",
            "voucher-hub: error: argumento COMANDO: opción no válida: 'nope' (elija entre 'enrol'",
        ),
        ("en", "usage: voucher-hub", "voucher-hub: error: argument COMMAND: invalid choice: 'nope'"),
    ],
)
def test_argparse_writes_its_words_in_the_language_of_the_parser_built_last(capsys, lang, usage, error):
    """One process building parsers in several languages (as the tests do): each speaks its own."""
    from hub.cli import build_parser
    from words import words_for

    build_parser(words_for("de", "store"))  # another language first
    parser = build_parser(words_for(lang, "store"))
    assert parser.format_usage().startswith(usage)
    with pytest.raises(SystemExit) as stopped:
        parser.parse_args(["nope"])
    assert stopped.value.code == 2 and error in capsys.readouterr().err


def test_a_rejection_s_reason_is_worded_with_its_code_beside():
    french, english = words_for("fr", "store"), words_for("en", "store")
    reached = {v.value for v in Verdict} - {Verdict.ACCEPTED.value, Verdict.LOADING.value}
    assert reached <= store_words.REJECTIONS.keys()  # every verdict head office can reach has words
    locked = outcome(outcome="rejected", reason="BATCH_LOCKED")
    assert store_words.outcome_details(french, locked) == "sa promotion était suspendue (BATCH_LOCKED)"
    assert locked.details() == "its promotion was on hold (BATCH_LOCKED)"
    unreadable = outcome(outcome="rejected", reason="MALFORMED: field 'at': not a time")
    assert store_words.outcome_details(words_for("de", "store"), unreadable) == (
        "nicht lesbar: field 'at': not a time (MALFORMED)"
    )
    assert store_words.rejection(english, "SOMETHING_NEWER") == "SOMETHING_NEWER"  # a newer server's code
    assert store_words.rejection(english, None) == ""
