"""What `voucher-sync status` prints for a person, in the words of the store host's catalogue.

The judgement is localdb/health.py's (`Health.problems`, in English, is what `--json` and a
monitor read); this module words the same reasons from the same facts in the person's language,
in the same order, and the frame around them: labels, counts, times (Babel, through `Words`).
In English every reason reads exactly as `Health.problems` has it (tests/words/test_cli_words.py
checks it), so the two cannot drift apart unseen. What stays in English: the scanner-layout
notice (localdb/notices.py and vouchers/layouts.py word it), the last error and the reason the
agent stopped (head office's and the network's words, as the agent recorded them), and the
reason head office gave for a rejection.

Also here: the titles of the errors the store host's programs print (`error_line`), shared by
voucher-sync and voucher-hub; an error's detail is its own (English) words.
"""

from __future__ import annotations

from datetime import datetime

from localdb.health import Health, Limits
from localdb.journals import JournalLoss
from localdb.till import Outcome
from vouchers.errors import VoucherError
from vouchers.wording import N_
from words import Words
from words.ages import ago, duration

# the titles of the errors voucher-sync and voucher-hub print (localdb/errors.py, sync/errors.py,
# hub/store.py, vouchers/errors.py and where they are raised), worded by their English title
ERROR_TITLES = (
    N_("The request cannot be carried out"),
    N_("Configuration error"),
    N_("Local database problem"),
    N_("Local database unreadable"),
    N_("Local database missing"),
    N_("The disk is full"),
    N_("A till file is damaged"),
    N_("Device not enrolled"),
    N_("No till files"),
    N_("No hub database"),
    N_("Kiosk already running"),
    N_("Cannot create the data directory"),
    N_("Cannot create the state directory"),
    N_("Sync problem"),
    N_("Server unreachable or answering badly"),
    N_("Server busy"),
    N_("Device revoked"),
    N_("Upload refused as malformed"),
    N_("Enrolment code not valid"),
    N_("The hub has no snapshot yet"),
)


def error_line(words: Words, exc: VoucherError) -> str:
    """`error: <title>: <detail>`, the title in the person's language, the detail as raised."""
    title = words.gettext(exc.title) if exc.title in ERROR_TITLES else exc.title
    return words.gettext("error: {title}: {detail}", title=title, detail=exc.detail)


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
        out.append(words.gettext("the agent stopped: {why}", why=h.stopped))
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
    out.extend(loss_words(words, loss) for loss in h.journal_losses if loss.recent(now))
    if h.scanner_layout:
        out.append(h.scanner_layout.words(now))
    return out


def loss_words(words: Words, loss: JournalLoss) -> str:
    """A journal pushed from that is gone or went back (localdb.journals.JournalLoss.words, worded)."""
    when = words.gettext(" ({when} UTC)", when=loss.at[:16].replace("T", " ")) if loss.at else ""
    lost = (
        words.gettext(
            "; {n} event(s) it held never reached head office and are lost", n=words.number(loss.unsent)
        )
        if loss.unsent
        else words.gettext("; nothing it held was lost")
    )
    acknowledged = words.number(loss.acknowledged)
    if loss.how == "missing":
        return words.gettext(
            "journal.db is missing: head office had acknowledged {acknowledged} event(s) from the "
            "journal that was there{lost}",
            acknowledged=acknowledged,
            lost=lost,
        )
    if loss.how == "rewound":
        return words.gettext(
            "journal.db went back to an older copy{when}: head office had acknowledged "
            "{acknowledged} of its events, the copy holds {held}; events written since are "
            "pushed from #{next}",
            when=when,
            acknowledged=acknowledged,
            held=loss.held,
            next=(loss.held or 0) + 1,
        )
    return words.gettext(
        "journal.db was replaced{when}: the journal before it is gone; head office had acknowledged "
        "{acknowledged} of its events{lost}",
        when=when,
        acknowledged=acknowledged,
        lost=lost,
    )


def outcome_details(words: Words, o: Outcome) -> str:
    """Who won a conflict, or why head office rejected the event (localdb.till.Outcome.details, worded;
    a rejection's reason is head office's own words)."""
    if o.won:
        device = words.gettext(" (device {device})", device=o.device_id) if o.device_id else ""
        return words.gettext(
            "this store redeemed it first; store {store}{device} redeemed it again at {when}",
            store=o.store_id,
            device=device,
            when=o.at or "?",
        )
    if o.outcome != "conflict":
        return o.reason or ""
    if o.winner_store is None:
        return words.gettext(
            "already used elsewhere (online or at head office) at {when}", when=o.winner_at or "?"
        )
    device = words.gettext(" (device {device})", device=o.winner_device) if o.winner_device else ""
    return words.gettext(
        "already used at store {store}{device} at {when}",
        store=o.winner_store,
        device=device,
        when=o.winner_at,
    )


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
                f"{since(words, health.last_error_at, now)}: {health.last_error}",
            )
        )
    if health.stopped:
        rows.append((labels[STOPPED], health.stopped))
    rows += [(labels[JOURNAL], loss_words(words, loss)) for loss in health.journal_losses]
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
        lines.append(f"  {p.outcome:<9} {number}{p.kind} {p.voucher_id}: {outcome_details(words, p)}")
    return lines
