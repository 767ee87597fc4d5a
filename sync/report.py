"""What `voucher-sync status` prints for a person, in the words of the store host's catalogue.

The judgement is localdb/health.py's (`Health.problems`, in English, is what `--json` and a
monitor read); this module words the same reasons from the same facts in the person's language,
in the same order, and the frame around them: labels, counts, times (Babel, through `Words`).
In English every reason reads exactly as `Health.problems` has it (tests/words/test_cli_words.py
checks it), so the two cannot drift apart unseen. The till's own records (a journal lost, a
conflict, the scanner-layout notice) and the store host's errors are worded by localdb/wording.py,
as the kiosk's manager view words them; the last error and the reason the agent stopped are worded
from the facts the agent kept with them (`Health.last_error_said`). What stays in other words than
the person's: what the operating system, SQLite or head office said (inside the sentence, as they
said it), and an error recorded by an agent of an older version.

Also here: the error line the store host's programs print (`error_line`), shared by voucher-sync
and voucher-hub.
"""

from __future__ import annotations

from datetime import datetime

from localdb import wording as store_words
from localdb.health import Health, Limits
from vouchers.errors import VoucherError
from vouchers.wording import N_, Said
from words import Words
from words.ages import ago, duration


def error_line(words: Words, exc: VoucherError) -> str:
    """`error: <title>: <detail>` in the person's language (localdb.wording.error)."""
    return words.gettext("error: {problem}", problem=store_words.error(words, exc))


# --- times and durations ------------------------------------------------------------------------


def moment(words: Words, when: datetime) -> str:
    """An instant as the locale writes a day and a time, with its zone (the words')."""
    return f"{words.date(when)} {words.time(when, 'long')}"


def since(words: Words, when: datetime | None, now: datetime) -> str:
    """'never', or how long ago and when."""
    if when is None:
        return words.gettext("never")
    return words.gettext("{ago} ({when})", ago=ago(words, now - when), when=moment(words, when))


# --- the reasons, the journal's losses, the problems ---------------------------------------------


def problems(words: Words, h: Health, limits: Limits, now: datetime) -> list[str]:
    """Why the till is degraded, worded: localdb.health's reasons, in its order."""
    out = []
    if h.stopped:
        out.append(words.gettext("the agent stopped: {why}", why=_said(words, h.stopped_said, h.stopped)))
    if h.last_pull_at is None:
        out.append(words.gettext("never pulled a snapshot from head office"))
    else:
        age = now - h.last_pull_at
        if age > limits.offline:
            out.append(
                words.gettext(
                    "offline: no successful pull for {age} (limit {limit})",
                    age=duration(words, age),
                    limit=duration(words, limits.offline),
                )
            )
        if age > limits.stale:
            out.append(
                words.gettext(
                    "stale snapshot: last pulled {age} ago (stale after {limit})",
                    age=duration(words, age),
                    limit=duration(words, limits.stale),
                )
            )
        if not h.snapshot_complete:
            if not h.cursor:
                out.append(words.gettext("no snapshot: it was wiped or has not been pulled since"))
            elif h.snapshot_progress is None:
                out.append(words.gettext("incomplete snapshot: the last page pulled said more was to come"))
            else:
                out.append(
                    words.gettext(
                        "incomplete snapshot: the last page pulled said more was to come "
                        "(voucher list loading: {progress} %)",
                        progress=words.number(h.snapshot_progress),
                    )
                )
    if h.conflicts:
        out.append(words.gettext("{n} conflict(s) to review", n=words.number(len(h.conflicts))))
    if h.rejections:
        out.append(words.gettext("{n} rejection(s) to review", n=words.number(len(h.rejections))))
    out.extend(store_words.loss(words, loss) for loss in h.journal_losses if loss.recent(now))
    if h.scanner_layout:
        out.append(store_words.notice(words, h.scanner_layout, now))
    return out


def _said(words: Words, kept: Said | None, text: str) -> str:
    """A health value the agent kept with its facts, worded; else its text as recorded."""
    return words.say(kept) if kept is not None else text


# --- the whole report -------------------------------------------------------------------------

# the labels of the report's rows, in one column as wide as the longest in the person's language
LAST_PULL = N_("last pull")
LAST_PUSH = N_("last push")
CLOCK_SKEW = N_("clock skew")
LAST_ERROR = N_("last error")
STOPPED = N_("STOPPED")
JOURNAL = N_("journal")
LABELS = (LAST_PULL, LAST_PUSH, CLOCK_SKEW, LAST_ERROR, STOPPED, JOURNAL)


def status_lines(
    words: Words, health: Health, limits: Limits, now: datetime, *, skew_warn_seconds: int
) -> list[str]:
    """`voucher-sync status` for a person: the verdict and its reasons, then the facts."""
    reasons = problems(words, health, limits, now)
    if health.degraded:
        first = words.gettext("DEGRADED: {reasons}", reasons="; ".join(reasons))
    else:
        first = words.gettext("healthy")
    lines = [
        first,
        words.gettext(
            "store {store}   snapshot cursor {cursor}   pending events {pending}",
            store=health.store_id or "?",
            cursor=health.cursor,
            pending=words.number(health.pending),
        ),
    ]
    labels = {label: words.gettext(label) for label in LABELS}
    rows: list[tuple[str, str]] = [
        (labels[LAST_PULL], since(words, health.last_pull_at, now)),
        (labels[LAST_PUSH], since(words, health.last_push_at, now)),
    ]
    skew = health.clock_skew_seconds
    if skew is not None:
        warn = (
            "  " + words.gettext("(too far off: fix this device's clock)")
            if abs(skew) > skew_warn_seconds
            else ""
        )
        signed = f"{skew:+d}"
        rows.append((labels[CLOCK_SKEW], words.gettext("{skew} s", skew=signed) + warn))
    if health.last_error:
        rows.append(
            (
                labels[LAST_ERROR],
                f"{since(words, health.last_error_at, now)}: "
                + _said(words, health.last_error_said, health.last_error),
            )
        )
    if health.stopped:
        rows.append((labels[STOPPED], _said(words, health.stopped_said, health.stopped)))
    rows += [(labels[JOURNAL], store_words.loss(words, loss)) for loss in health.journal_losses]
    width = max(len(label) for label in labels.values())  # one column, whichever rows there are
    lines += [f"{label:<{width}} {value}" for label, value in rows]
    lines.append(
        words.gettext(
            "{conflicts} conflict(s), {rejections} rejection(s)",
            conflicts=words.number(len(health.conflicts)),
            rejections=words.number(len(health.rejections)),
        )
    )
    # this till's own first, newest first; then the store's others (no sequence number here)
    for p in sorted(health.conflicts + health.rejections, key=lambda o: o.seq or 0, reverse=True):
        number = f"#{p.seq} " if p.seq is not None else ""
        lines.append(
            f"  {p.outcome:<9} {number}{p.kind} {p.voucher_id}: {store_words.outcome_details(words, p)}"
        )
    return lines
