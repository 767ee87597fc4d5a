"""The demo's own words (`voucher-central demo`'s summary, harness/demo.py's banner and control pane)
come from the catalogue of the demo's language: every line a person reads goes through it, and
only commands, paths and codes stay as they are typed."""

from __future__ import annotations

from pathlib import Path

import pytest

from central.demo import VERDICT_LABELS, _money, summary
from harness.demo import Shop, _tmux_text
from vouchers.verdict import VOUCHER_VERDICTS
from words import words_for

GERMAN = words_for("de", "central")


TRIES = {
    **{name: f"CODE-{i:04d}" for i, name in enumerate(VERDICT_LABELS)},
    "_big": "batch-id",
}


def test_the_summary_is_worded_in_the_demo_s_language(tmp_path):
    """Every line a person reads is the catalogue's German, not the English source; only the
    command the 'try:' row goes on with reads the same in both."""
    args = ("http://127.0.0.1:8021", tmp_path, dict(TRIES), "secret", 2525)
    english = set(summary(*args).splitlines())
    text = summary(*args[:2], dict(TRIES), *args[3:], "de")
    for line in text.splitlines():
        assert not line.strip() or line not in english or line.strip().endswith(" batch list"), line
    for name in VERDICT_LABELS:  # each code beside its verdict's name, worded
        assert GERMAN.gettext(VERDICT_LABELS[name]) in text and TRIES[name] in text
    # the commands and paths in it as they are typed
    assert "voucher-kiosk run --camera " + str(tmp_path / "camera") in text
    assert "batch wait batch-id" in text and "http://127.0.0.1:8021/dashboard?lang=de" in text


def test_the_summary_in_english_lists_codes_tsv_s_names(tmp_path):
    """English is the source: each code beside codes.tsv's name for it, as tests/e2e/test_demo.py reads it."""
    tries = dict(TRIES)
    text = summary("http://127.0.0.1:8021", tmp_path, tries, "secret", 2525)
    for name in VERDICT_LABELS:
        assert f"  {name}  " in text and f"{name}" in text
    assert {v.value for v in VOUCHER_VERDICTS} <= {name.split()[0] for name in VERDICT_LABELS}
    assert (
        "  dashboard:    http://127.0.0.1:8021/dashboard  (sign in as hq@demo.example, password secret;"
        in text
    )
    assert text.splitlines()[-1].startswith("Camera frames for the kiosk's camera path: voucher-kiosk run")


@pytest.mark.parametrize(
    ("language", "five"), [(None, "£5"), ("en", "£5"), ("de", "5\xa0€"), ("fr", "5\u202f€"), ("es", "5\xa0€")]
)
def test_amounts_are_in_the_demo_s_language_and_currency(language, five):
    amount = _money(words_for(language, "central"), 5)
    assert amount.replace("\u202f", "\xa0") == five.replace("\u202f", "\xa0")


def _shop(tmp_path: Path) -> Shop:
    return Shop(
        port=8021,
        hub_port=8491,
        data=tmp_path,
        logs=tmp_path,
        large_batch="3000",
        camera="",
        socket="voucher-demo-test-words",
    )


def test_the_control_pane_is_worded_in_the_demo_s_language(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("DEMO_LANG", "de")
    shop = _shop(tmp_path)
    text = shop._instructions(["AAAA-BBBB-CCCC-DD", "EEEE-FFFF-GGGG-HH"])
    title, steps = text.removeprefix("\n").split("\n", 1)
    shop_title = GERMAN.gettext("A shop with two tills")
    assert shop_title != "A shop with two tills" and title.startswith(f"== {shop_title} ===")
    assert "A shop with two tills" not in text and "Head office  http" not in steps
    assert "AAAA-BBBB-CCCC-DD" in steps and "EEEE-FFFF-GGGG-HH" in steps
    shop._prompt()  # head office is not running
    stopped = "[head office STOPPED] Enter: start it again, q Enter: end the demo > "
    assert capsys.readouterr().out == GERMAN.gettext(stopped) != stopped


def test_the_control_pane_in_english_says_what_the_two_till_test_reads(tmp_path, monkeypatch):
    monkeypatch.delenv("DEMO_LANG", raising=False)
    text = _shop(tmp_path)._instructions(["AAAA-BBBB-CCCC-DD", "EEEE-FFFF-GGGG-HH"])
    assert "type  AAAA-BBBB-CCCC-DD  and Enter: ACCEPTED" in text and "type  EEEE-FFFF-GGGG-HH :" in text
    assert text.startswith("\n== A shop with two tills ====")


def test_tmux_shows_the_status_text_as_it_is():
    assert _tmux_text('a "b" #{c} $HOME \\') == 'a \\"b\\" ##{c} \\$HOME \\\\'
