"""`problem`: conflicts and rejections of tills' redemptions, to list and review (admin API)."""

from __future__ import annotations

import argparse

from central.cli.common import client, client_args, operator, show
from central.cli.tree import Group


def add_commands(root: Group) -> None:
    text = "conflicts and rejections of tills' redemptions: list, review"
    problem = root.group("problem", text, description=text)
    p = problem.command(
        "list",
        "conflicts and rejections, newest first (open ones unless told)",
        list_problems,
        description="Conflicts and rejections, newest first: a store's own and the conflicts "
        "its redemptions won. Open ones only, unless --reviewed or --all.",
    )
    p.add_argument("--store", help="only this store's (its own and the conflicts it won)")
    shown = p.add_mutually_exclusive_group()
    shown.add_argument("--reviewed", action="store_true", help="reviewed ones only")
    shown.add_argument("--all", action="store_true", help="open and reviewed")
    p = problem.command(
        "review",
        "mark a conflict or rejection reviewed, with a note",
        review,
        description="Close a conflict or rejection for both stores, with a note and its author.",
    )
    p.add_argument("event_id", help="the event id (see 'problem list')")
    p.add_argument("--note", required=True, help="what was found, what was done")
    p.add_argument("--by", default=operator(), help="who reviewed it (default: this login and host)")
    for p in problem.parsers:
        client_args(p)


def list_problems(args: argparse.Namespace) -> int:
    params: dict[str, str] = {}
    if args.store:
        params["store"] = args.store
    if not args.all:
        params["reviewed"] = "true" if args.reviewed else "false"
    return show(args, client(args).get("/problems", params=params), problem_line)


def review(args: argparse.Namespace) -> int:
    answer = client(args).post(f"/problems/{args.event_id}/review", {"by": args.by, "note": args.note})
    return show(args, answer, problem_line)


def problem_line(p: dict) -> str:
    if p["outcome"] == "conflict":
        winner = p["winner"]
        why = (
            f"used first at {winner['store_id']} ({winner['device_id']}) at {winner['at']}"
            if winner
            else "used online by its member or at head office"
        )
    else:
        why = f"rejected: {p['reason']}"
    state = f"reviewed by {p['reviewed']['by']}: {p['reviewed']['note']}" if p["reviewed"] else "OPEN"
    return f"{p['event_id']}  {p['at']}  {p['store_id']}/{p['device_id']}  {p['voucher_id'] or '-'}  {why}  [{state}]"
