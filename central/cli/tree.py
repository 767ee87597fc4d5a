"""The command tree: argparse parsers, each recorded here as it is made.

argparse keeps its subparsers to itself; this registry keeps them for us, so that one loop can
give every command of a group its common options, and a test can walk every command
(tests/central/test_cli_help.py) without reaching into argparse's private attributes.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from words import Words

Handler = Callable[[argparse.Namespace], int]


class Subparsers(Protocol):
    """What `ArgumentParser.add_subparsers()` returns, as far as we use it."""

    def add_parser(
        self, name: str, *, help: str | None = ..., description: str | None = ...
    ) -> argparse.ArgumentParser: ...


@dataclass(frozen=True)
class Command:
    """A command or a group, by the words typed after `voucher-central`, with the help its group lists."""

    words: tuple[str, ...]
    help: str
    parser: argparse.ArgumentParser


@dataclass
class Group:
    """The program, or a command with actions (`batch`, `staff token`): adds and records its commands.

    `parsers` holds this group's own commands, in order; `registry` every command of the program;
    `wording` the program's words (its help texts are worded in them; main passes them on)."""

    words: tuple[str, ...]
    parser: argparse.ArgumentParser
    subparsers: Subparsers
    registry: list[Command]
    wording: Words
    parsers: list[argparse.ArgumentParser] = field(default_factory=list)

    def command(
        self, name: str, help: str, func: Handler, *, description: str | None = None
    ) -> argparse.ArgumentParser:
        """A command of this group, run as `func(args)`; its exit status is what `func` returns."""
        parser = self._add(name, help, description)
        parser.set_defaults(func=func)
        return parser

    def group(self, name: str, help: str, *, description: str | None = None) -> Group:
        """A command with actions of its own; given none, it prints its help (exit status 2)."""
        parser = self._add(name, help, description)
        subparsers = parser.add_subparsers(metavar=self.wording.gettext("ACTION"))
        group = Group((*self.words, name), parser, subparsers, self.registry, self.wording)
        parser.set_defaults(func=group.print_help)
        return group

    def print_help(self, args: argparse.Namespace) -> int:
        """The command run when a group is given no action."""
        self.parser.print_help()
        return 2

    def _add(self, name: str, help: str, description: str | None) -> argparse.ArgumentParser:
        parser = self.subparsers.add_parser(name, help=help, description=description)
        parser.set_defaults(words=self.wording)  # for the options common.py adds, worded alike
        self.parsers.append(parser)
        self.registry.append(Command((*self.words, name), help, parser))
        return parser
