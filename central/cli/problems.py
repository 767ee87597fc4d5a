"""`problem`: conflicts and rejections of tills' redemptions, to list and review (admin API)."""

from __future__ import annotations

import argparse
from functools import partial

from central.cli.common import client, client_args, operator, show, when
from central.cli.tree import Group
from words import Words


def add_commands(root: Group) -> None:
    w = root.wording
    text = w.gettext("conflicts and rejections of tills' redemptions: list, review")
    problem = root.group("problem", text, description=text)
    p = problem.command(
        "list",
        w.gettext("conflicts and rejections, newest first (open ones unless told)"),
        list_problems,
        description=w.gettext(
            "Conflicts and rejections, newest first: a store's own and the conflicts "
            "its redemptions won. Open ones only, unless --reviewed or --all."
        ),
    )
    p.add_argument("--store", help=w.gettext("only this store's (its own and the conflicts it won)"))
    shown = p.add_mutually_exclusive_group()
    shown.add_argument("--reviewed", action="store_true", help=w.gettext("reviewed ones only"))
    shown.add_argument("--all", action="store_true", help=w.gettext("open and reviewed"))
    p = problem.command(
        "review",
        w.gettext("mark a conflict or rejection reviewed, with a note"),
        review,
        description=w.gettext("Close a conflict or rejection for both stores, with a note and its author."),
    )
    p.add_argument("event_id", help=w.gettext("the event id (see 'problem list')"))
    p.add_argument("--note", required=True, help=w.gettext("what was found, what was done"))
    p.add_argument(
        "--by", default=operator(), help=w.gettext("who reviewed it (default: this login and host)")
    )
    for p in problem.parsers:
        client_args(p)


def list_problems(args: argparse.Namespace) -> int:
    params: dict[str, str] = {}
    if args.store:
        params["store"] = args.store
    if not args.all:
        params["reviewed"] = "true" if args.reviewed else "false"
    return show(args, client(args).get("/problems", params=params), partial(problem_line, args.words))


def review(args: argparse.Namespace) -> int:
    answer = client(args).post(f"/problems/{args.event_id}/review", {"by": args.by, "note": args.note})
    return show(args, answer, partial(problem_line, args.words))


def problem_line(w: Words, p: dict) -> str:
    if p["outcome"] == "conflict":
        winner = p["winner"]
        why = (
            w.gettext(
                "used first at {store} ({device}) at {when}",
                store=winner["store_id"],
                device=winner["device_id"],
                when=when(w, winner["at"]),
            )
            if winner
            else w.gettext("used online by its member or at head office")
        )
    else:
        why = w.gettext("rejected: {reason}", reason=p["reason"])
    state = (
        w.gettext("reviewed by {by}: {note}", by=p["reviewed"]["by"], note=p["reviewed"]["note"])
        if p["reviewed"]
        else w.gettext("OPEN")
    )
    return (
        f"{p['event_id']}  {when(w, p['at'])}  {p['store_id']}/{p['device_id']}  {p['voucher_id'] or '-'}  "
        f"{why}  [{state}]"
    )
