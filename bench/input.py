"""input: a paste or a stuck scanner of any length answers at once, through the use case and the real app.

A replica of SIZE vouchers (setup, not timed; bench/verdict.py's) and, in the same run:

* the redeem use case (kiosk/service.py, `Redeemer.check`): a 10,000-character paste, a
  1,000,000-character stuck scanner, and codes typed through the German and French layouts
  (corrected: each layout tried, the candidate looked up), beside the floor, a code typed right;
* the real Textual app (`voucher-kiosk run`'s, headless, driven by Pilot): Enter to verdict on
  screen after a 10,000- and a 1,000,000-character paste (one Paste event, as a terminal sends
  it), beside the floor, a 20-character text pasted (the same verdict), and a valid code pasted
  (ACCEPTED, so journaled first); a stuck scanner key by key (as the Linux console sends it) of
  KEYS keys all queued at once (the cost of a key once the field is full, against the
  millisecond a USB scanner takes to type one), and paced at a fast scanner's 1,000 keys/s, then
  Enter to verdict;
* bare: Textual's own `Input`, uncapped, in an app of its own, taking BARE_KEYS keys queued at
  once (what the till's field did before: each key costs more than the one before).

Target (issue 18): p95 <= 200 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from textual import events
from textual.app import App
from textual.widgets import Input

from bench.common import Report, percentile, say
from bench.verdict import KEY, build_replica
from kiosk.app import build_kiosk
from kiosk.service import Redeemer
from kiosk.settings import KioskSettings
from kiosk.widgets.scan_input import CAPACITY, ScanInput
from kiosk.widgets.verdict import VerdictPanel
from localdb.connect import open_reader
from localdb.identity import Identity, save
from localdb.journal import Journal
from localdb.till import Till
from vouchers.codes import TOO_LONG, format_code, new_codes
from vouchers.layouts import BY_ID, typed_through
from vouchers.verdict import Verdict

NAME = "input"
TARGET_MS = 200.0
SCANNER_KEYS_PER_S = 1_000  # a fast USB scanner: one key each millisecond of the HID poll


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--size", type=int, default=100_000, help="vouchers in the replica (default 100,000)")
    p.add_argument("--repeat", type=int, default=30, help="verdicts timed per case in the app (default 30)")
    p.add_argument(
        "--keys",
        type=int,
        default=100_000,
        help="stuck-scanner keys queued at once in the app (default 100,000)",
    )
    p.add_argument(
        "--paced-seconds",
        type=float,
        default=2.0,
        help="seconds of a stuck scanner at 1,000 keys/s before each Enter (default 2)",
    )
    p.add_argument(
        "--bare-keys",
        type=int,
        default=5_000,
        help="keys queued at once into a bare, uncapped Textual Input (default 5,000)",
    )


def ms_since(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000


def _timed(report: Report, label: str, times: list[float], target: bool = True) -> None:
    report.figure(f"{label}, p50", percentile(times, 50), "ms", fmt="{:,.2f}")
    report.figure(
        f"{label}, p95", percentile(times, 95), "ms", ("<=", TARGET_MS) if target else None, fmt="{:,.2f}"
    )


def use_case(report: Report, redeemer: Redeemer, codes: list[str], repeat: int) -> None:
    de, fr = BY_ID["de"], BY_ID["fr"]
    cases = {
        "use case: a code typed right (floor)": ([format_code(c) for c in codes], Verdict.ACCEPTED),
        "use case: a code through QWERTZ (corrected)": (
            [typed_through(format_code(c), de) for c in codes],
            Verdict.ACCEPTED,
        ),
        "use case: a code through AZERTY (corrected)": (
            [typed_through(c, fr) for c in codes],
            Verdict.ACCEPTED,
        ),
        "use case: a 10,000-character paste": (["7" * 10_000] * repeat, Verdict.INVALID_CODE),
        "use case: a 1,000,000-character stuck scanner": (["7" * 1_000_000] * repeat, Verdict.INVALID_CODE),
    }
    for label, (texts, expected) in cases.items():
        times, verdicts = [], set()
        for text in texts:
            t0 = time.perf_counter()
            decision = redeemer.check(text)
            times.append(ms_since(t0))
            verdicts.add(decision.verdict)
        report.check(verdicts == {expected}, f"{label}: {', '.join(sorted(v.value for v in verdicts))}")
        _timed(report, label, times, target="floor" not in label)


async def _shown(panel: VerdictPanel, kind: str, timeout: float = 120) -> None:
    deadline = time.perf_counter() + timeout
    while not panel.has_class(kind):
        if time.perf_counter() > deadline:
            raise TimeoutError(f"no {kind} verdict within {timeout} s")
        await asyncio.sleep(0.001)


async def _until(condition, timeout: float = 120) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the app did not get there")
        await asyncio.sleep(0.001)


async def in_the_app(report: Report, data_dir: Path, codes: list[str], args: argparse.Namespace) -> None:
    app = build_kiosk(KioskSettings(data_dir=data_dir, bell=False, verdict_seconds=600))
    async with app.run_test(headless=True, size=(120, 40)) as pilot:
        panel = app.screen.query_one(VerdictPanel)
        field = app.screen.query_one("#scan", ScanInput)
        await pilot.pause()

        async def verdict_after_paste(text: str, kind: str) -> tuple[float, str]:
            app.post_message(events.Paste(text))
            await _until(lambda: len(field.value) == min(len(text), CAPACITY))
            t0 = time.perf_counter()
            app.post_message(events.Key("enter", "\r"))
            await _shown(panel, kind)
            elapsed, shown = ms_since(t0), str(panel.render())
            await pilot.press("escape")
            await _until(lambda: panel.has_class("idle"))
            return elapsed, shown

        floor = [(await verdict_after_paste("7" * 20, "refused"))[0] for _ in range(args.repeat)]
        _timed(report, "app: Enter to verdict, 20 characters pasted (floor)", floor, target=False)
        accepted = [(await verdict_after_paste(format_code(c), "accepted"))[0] for c in codes[: args.repeat]]
        _timed(report, "app: Enter to ACCEPTED, a code pasted (journaled)", accepted, target=False)
        words = set()
        for length in (10_000, 1_000_000):
            times = []
            for _ in range(args.repeat):
                elapsed, shown = await verdict_after_paste("7" * length, "refused")
                times.append(elapsed)
                words.add(shown.split("\n")[2])
            _timed(report, f"app: Enter to verdict, a {length:,}-character paste", times)
        report.check(
            len(words) == 1 and TOO_LONG in words.pop(),
            "a paste of any length is refused as too long, in one wording",
        )

        t0 = time.perf_counter()
        for _ in range(args.keys):
            app.post_message(events.Key("7", "7"))
        app.post_message(events.Key("enter", "\r"))
        await _shown(panel, "refused", timeout=max(120, args.keys / 1000))
        per_key = ms_since(t0) * 1000 / args.keys
        report.figure(
            f"app: stuck scanner, {args.keys:,} keys queued at once, per key",
            per_key,
            "µs",
            ("<=", 1_000_000 / SCANNER_KEYS_PER_S),
            fmt="{:,.1f}",
        )
        report.check(
            field.value == "" and TOO_LONG in str(panel.render()), "stuck scanner refused as too long"
        )
        await pilot.press("escape")
        await _until(lambda: panel.has_class("idle"))

        paced = []
        for _ in range(max(1, args.repeat // 6)):
            started, sent = time.perf_counter(), 0
            while sent < args.paced_seconds * SCANNER_KEYS_PER_S:
                due = int((time.perf_counter() - started) * SCANNER_KEYS_PER_S) - sent
                for _ in range(max(0, due)):
                    app.post_message(events.Key("7", "7"))
                sent += max(0, due)
                await asyncio.sleep(0.001)
            t0 = time.perf_counter()
            app.post_message(events.Key("enter", "\r"))
            await _shown(panel, "refused")
            paced.append(ms_since(t0))
            await pilot.press("escape")
            await _until(lambda: panel.has_class("idle"))
        _timed(
            report,
            f"app: Enter to verdict after {args.paced_seconds:g} s of a stuck scanner at 1,000 keys/s",
            paced,
        )


class BareInput(App):
    """Textual's Input as it comes, uncapped: the bare floor of key handling, and its growth."""

    def compose(self):
        yield Input(id="bare")


async def bare(report: Report, keys: int) -> None:
    app = BareInput()
    async with app.run_test(headless=True) as pilot:
        field = app.query_one(Input)
        field.focus()
        await pilot.pause()
        t0 = time.perf_counter()
        for _ in range(keys):
            app.post_message(events.Key("7", "7"))
        await _until(lambda: len(field.value) == keys, timeout=max(600, keys / 50))
        elapsed = time.perf_counter() - t0
    report.figure(f"bare Textual Input (uncapped): {keys:,} keys queued at once", elapsed, "s", fmt="{:,.2f}")
    report.figure("bare Textual Input (uncapped): per key", elapsed * 1e6 / keys, "µs", fmt="{:,.1f}")


def run(args: argparse.Namespace) -> Report:
    report = Report(NAME)
    with tempfile.TemporaryDirectory(prefix="voucher-bench-input-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        codes = new_codes(args.size)
        build_replica(root / "replica.db", codes)
        save(
            root / "device.json",
            Identity("http://127.0.0.1:9", "bench-device", "s1", "bench-token", KEY.hex()),
        )
        say(f"  setup: replica of {args.size:,} vouchers built in {time.perf_counter() - started:.1f} s")
        claimed = codes[0 : 2 * (3 * args.repeat + 500) : 2]  # even serials are claimed and unused
        journal = Journal(root / "journal.db")
        replica = open_reader(root / "replica.db")
        try:
            use_case(
                report, Redeemer(Till(replica, journal.conn), journal, KEY), claimed[:500], args.repeat * 10
            )
        finally:
            journal.close()
            replica.close()
        asyncio.run(in_the_app(report, root, claimed[500:], args))
    if args.bare_keys:
        asyncio.run(bare(report, args.bare_keys))
    return report
