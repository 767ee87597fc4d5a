"""voucher-kiosk: the cashier's till (a Textual screen), and the same decisions on the command line."""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from collections.abc import Callable
from datetime import tzinfo
from pathlib import Path

from configfile.version import add_version_argument
from kiosk import scanner, wording
from kiosk.service import CONFIRM, TILL_PROBLEM, Redeemer, cannot_redeem, layout_words, policy_for
from kiosk.settings import KioskSettings, load_settings
from localdb import identity as identity_file
from localdb import wording as store_words
from localdb.connect import open_reader
from localdb.errors import DamagedFile, DiskFull, translate
from localdb.journal import Journal
from localdb.till import Till
from vouchers.errors import VoucherError
from vouchers.verdict import Verdict
from words import Words, speak_argparse


def main(argv: list[str] | None = None) -> int:
    words = _words_before_parsing(argv)  # the help and the errors in the till's language too
    _ = words.gettext
    speak_argparse(words)
    parser = argparse.ArgumentParser(
        prog="voucher-kiosk",
        description=_(
            "The cashier's till: decides on a voucher from the local snapshot and journals the redemption."
        ),
    )
    add_version_argument(parser, _("show the program's version and exit"))
    sub = parser.add_subparsers(title=_("commands"), metavar=_("COMMAND"))
    p = sub.add_parser(
        "run",
        help=_("the till's screen (Textual): scan, verdicts, manager view (F2)"),
        description=_(
            "Start the cashier's screen. Keyboard-wedge scanners and typed codes go to its "
            "input; a camera (setting 'camera') is read in the background. Ctrl+Q quits only with the "
            "setting allow_quit; else SIGTERM stops it (systemctl stop voucher-kiosk)."
        ),
    )
    _settings_args(p, _)
    p.add_argument(
        "--camera", help=_("device index, device path, video file or image folder (overrides the setting)")
    )
    p.add_argument(
        "--preview",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=_("show the camera's picture beside the verdict, for aiming (overrides the setting)"),
    )
    p.set_defaults(func=cmd_run)
    p = sub.add_parser(
        "set-pin", help=_("set the manager PIN (asked twice; stored as an scrypt hash, mode 0600)")
    )
    _settings_args(p, _)
    p.set_defaults(func=cmd_set_pin)
    p = sub.add_parser(
        "redeem",
        help=_("redeem a typed or scanned code, as a cashier would"),
        description=_(
            "Decide on a code from the local snapshot; an accepted voucher is written to "
            "the journal (and pushed by the sync agent) before the verdict is printed."
        ),
    )
    p.add_argument(
        "code",
        metavar=_("CODE"),
        help=_(
            "the voucher code (any case; dashes and spaces allowed) or its URL; a text "
            "that begins with '-' (a scanner typing through AZERTY types '6' as '-') goes after '--': "
            "voucher-kiosk redeem -- TEXT"
        ),
    )
    p.add_argument(
        "--yes",
        action="store_true",
        help=_("answer the 'mark as used?' question (setting confirm = true) with yes"),
    )
    _settings_args(p, _)
    p.set_defaults(func=cmd_redeem)
    p = sub.add_parser(
        "decode",
        help=_("print the barcodes and QR codes found in image files"),
        description=_(
            "Decode image files (PNG, JPEG, WebP, ...) exactly as the till's camera decodes a "
            "frame held in front of it: the kiosk's decoders (setting 'decoders'), the first one, then "
            "the fallback ones. One line per code found: file, format, text (control characters "
            "escaped). Exit status: 0 when every file held a code, 1 when some held none, 2 when some "
            "could not be read."
        ),
    )
    p.add_argument("files", nargs="+", metavar="FILE", help=_("image files"))
    p.add_argument(
        "--json",
        action="store_true",
        help=_("one JSON object per code: file, format, text (exactly as decoded)"),
    )
    p.add_argument(
        "--decoders",
        type=decoder_names,
        default=None,
        help=_(
            "decoders to try, in order, each only when the ones before found nothing (default: the "
            "kiosk's setting, {default} unless configured; known: {known})"
        ).format(default=",".join(scanner.DEFAULT_DECODERS), known=", ".join(scanner.DECODERS)),
    )
    p.add_argument(
        "--thorough",
        action="store_true",
        help=_(
            "then slow searches the camera never makes, for support: the image enlarged, and turned "
            "by 30° and 60° ({decoders}; seconds a file)"
        ).format(decoders=",".join(scanner.THOROUGH_DECODERS)),
    )
    p.add_argument(
        "--config", help=_("the kiosk's TOML settings, for its decoders (default: $VOUCHER_KIOSK_CONFIG)")
    )
    p.set_defaults(func=cmd_decode)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        try:
            return args.func(args)
        except (OSError, sqlite3.Error) as exc:  # a full disk, a damaged file, no permission: in words
            raise translate(exc, Path(getattr(args, "data_dir", None) or "."), "the till's files") from exc
    except VoucherError as exc:
        print(words.gettext("error: {detail}", detail=store_words.error(words, exc)), file=sys.stderr)
        return 1


def _words_before_parsing(argv: list[str] | None) -> Words:
    """The till's words for the command's own help and errors: its settings (--config, --data-dir,
    the environment) and files say which; English when they cannot be read."""
    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--config")
    early.add_argument("--data-dir")
    known, _ = early.parse_known_args(argv)
    try:
        return till_words(load_settings(known.config, data_dir=known.data_dir))
    except (VoucherError, OSError, ValueError):
        return wording.english()


def _settings_args(p: argparse.ArgumentParser, _: Callable[[str], str]) -> None:
    p.add_argument("--config", help=_("TOML settings file (default: $VOUCHER_KIOSK_CONFIG)"))
    p.add_argument("--data-dir", help=_("the directory shared with the sync agent"))


def cmd_redeem(args) -> int:
    settings = load_settings(args.config, data_dir=args.data_dir)
    key = identity_file.code_hash_key(settings.identity_path)
    try:
        journal = Journal(settings.journal_path)
    except (DiskFull, DamagedFile) as exc:  # nothing can be recorded: a refusal, in the screen's words
        print(f"{TILL_PROBLEM}: {cannot_redeem(till_words(settings), exc).reason}")
        return 1
    replica = open_reader(settings.replica_path)
    redeemer = Redeemer(
        Till(replica, journal.conn),
        journal,
        key,
        cashier=settings.cashier,
        policy=policy_for(settings.confirm, settings.stale_needs_approval, settings.stale_snapshot_hours),
        language=settings.language,
    )
    words = redeemer.words()
    decision = redeemer.scan(args.code)
    if decision.step is not None:
        if not (decision.step == CONFIRM and args.yes):
            print(decision.reason)
        approved_by = _step_answered(decision.step, args, settings, words)
        if approved_by is None:
            print(words.gettext("Not redeemed: nothing was written."))
            return 1
        decision = redeemer.redeem(args.code, approved_by=approved_by or None)
    print(f"{decision.label}: {decision.reason}")
    if decision.voucher is not None:
        v = decision.voucher
        minimum = (
            words.gettext(" (minimum purchase {minimum})", minimum=v.min_purchase) if v.min_purchase else ""
        )
        print(f"  {decision.code}  {v.value}{minimum}  — {v.batch_identifier}")
    corrected = layout_words(words, decision)
    if corrected:  # typed through the wrong keyboard layout, and corrected
        print(f"  {corrected}")
    redeemer.record_refusal(decision)
    return 0 if decision.kind != "refused" and decision.verdict is not Verdict.LOADING else 1


def till_words(settings: KioskSettings) -> Words:
    """The till's words for a command (kiosk.wording.till_words): the setting `language`, else the
    store's locale in the till's voucher list when there is one, else English."""
    locale: str | None = None
    tz: tzinfo | str = "UTC"
    if settings.replica_path.exists():
        try:
            replica = open_reader(settings.replica_path)
            try:
                till = Till(replica, None)
                _, tz, locale = till.shop()
            finally:
                replica.close()
        except (sqlite3.Error, OSError, VoucherError):
            pass  # the words only: the command says what is wrong with the files itself
    return wording.till_words(settings.language, locale, tz)


def _step_answered(step: str, args, settings, words: Words) -> str | None:
    """The screen's step before a redemption, on the command line: "" when the cashier confirmed,
    "manager" after the manager's PIN, None when refused or when nobody is there to answer."""
    import getpass

    from kiosk.pin import PinError, PinGate

    if step == CONFIRM:
        if args.yes:
            return ""
        if not sys.stdin.isatty():
            print(
                words.gettext(
                    "error: 'mark as used?' needs an answer: give --yes, or run this in a terminal."
                ),
                file=sys.stderr,
            )
            return None
        answer = input(words.gettext("Mark as used? [y/N] ")).strip().lower()
        # TRANSLATORS: the answers to the question above that mean yes (lower case, comma-separated)
        yes = {a.strip() for a in words.gettext("y,yes").split(",")} | {"y", "yes"}
        return "" if answer in yes else None
    if not sys.stdin.isatty():
        print(
            words.gettext("error: a manager's approval needs the PIN: run this in a terminal."),
            file=sys.stderr,
        )
        return None
    try:
        ok = PinGate(settings.data_dir / "manager-pin").try_pin(
            getpass.getpass(words.gettext("Manager PIN: "))
        )
    except PinError as exc:  # locked out, or no PIN set
        print(words.gettext("error: {detail}", detail=exc.words(words)), file=sys.stderr)
        return None
    if ok:
        return "manager"
    print(words.gettext("error: wrong PIN."), file=sys.stderr)
    return None


def decoder_names(value: str) -> list[str]:
    names = [n.strip() for n in value.split(",") if n.strip()]
    unknown = [n for n in names if n not in scanner.DECODERS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown decoder {', '.join(unknown) or repr(value)}; choose from {', '.join(scanner.DECODERS)}"
        )
    return names


def cmd_decode(args) -> int:
    """The till's decoder chain, or the one named, on each file; --thorough adds the slow searches."""
    settings = load_settings(args.config)
    words = till_words(settings)
    names = args.decoders or settings.decoders
    if args.thorough:
        names = [*names, *(n for n in scanner.THOROUGH_DECODERS if n not in names)]
    try:
        chain = scanner.DecoderChain.from_names(names)
    except scanner.ScannerError as exc:
        print(words.gettext("error: {detail}", detail=store_words.error(words, exc)), file=sys.stderr)
        return 2
    if hasattr(sys.stdout, "reconfigure"):  # a text no terminal encoding can show is escaped, not a crash
        sys.stdout.reconfigure(errors="backslashreplace")
    unreadable = empty = 0
    for name in args.files:
        try:
            reads = scanner.decode_file(name, chain)
        except scanner.UnreadableImage as exc:
            reason = words.gettext(exc.reason, **exc.facts)
            print(
                words.gettext("error: Cannot read the image: {file}: {reason}", file=exc.path, reason=reason),
                file=sys.stderr,
            )
            unreadable += 1
            continue
        if not reads:
            print(words.gettext("{file}: no barcode found", file=scanner.display_text(name)), file=sys.stderr)
            empty += 1
        for read in reads:
            if args.json:
                print(json.dumps({"file": name, "format": read.format, "text": read.text}))
            else:
                print(f"{scanner.display_text(name)}\t{read.format}\t{scanner.display_text(read.text)}")
        sys.stdout.flush()
    return 2 if unreadable else 1 if empty else 0


def cmd_run(args) -> int:
    """The screen; its exit status is the app's (1 after an error, which systemd's unit restarts)."""
    from kiosk import crash

    journal = crash.journal_stream()
    words = wording.english()  # until the settings and the till's files say otherwise
    try:
        from kiosk.app import build_kiosk

        settings = load_settings(
            args.config, data_dir=args.data_dir, camera=args.camera, preview=args.preview
        )
        words = till_words(settings)
        app = build_kiosk(settings)
    except Exception as exc:  # noqa: BLE001 (the composition root: whatever stops the start is reported, in words)
        crash.report(exc, journal, starting=True, words=words)
        return 1
    app.run()
    if app.error is not None:
        crash.report(app.error, journal, starting=not app.started, words=app.kiosk.words())
        return app.return_code or 1
    return app.return_code or 0


def cmd_set_pin(args) -> int:
    import getpass

    from kiosk.pin import PinError, save_pin

    settings = load_settings(args.config, data_dir=args.data_dir)
    words = till_words(settings)
    first = getpass.getpass(words.gettext("New manager PIN (4 to 12 digits): "))
    if getpass.getpass(words.gettext("The same PIN again: ")) != first:
        print(words.gettext("error: the two PINs differ; nothing changed."), file=sys.stderr)
        return 1
    path = settings.data_dir / "manager-pin"
    try:
        save_pin(path, first)
    except PinError as exc:
        print(words.gettext("error: {detail}", detail=exc.words(words)), file=sys.stderr)
        return 1
    print(words.gettext("Manager PIN set ({path}, readable by this user only).", path=path))
    return 0
