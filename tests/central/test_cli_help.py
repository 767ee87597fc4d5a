"""Every voucher-central command and subcommand has help: listed by its group, and its own --help.

The commands are walked through central/cli/tree.py's registry of the parsers as they were made
(no argparse private attributes); argparse's own refusal of an unknown action, which names every
choice, checks that the registry holds them all.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from central.cli import build_tree, main

CLI = str(Path(sys.executable).parent / "voucher-central")
TREE = build_tree()
COMMANDS = {" ".join(c.words): c for c in TREE.registry}
PARSERS = {(): TREE.parser, **{c.words: c.parser for c in TREE.registry}}
GROUPS = {c.words[:-1] for c in TREE.registry}  # the program, and every command with actions


def squeezed(text: str) -> str:
    """Text without white space: argparse wraps help lines wherever it likes."""
    return "".join(text.split())


def run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit:
        main(list(argv))
    out, err = capsys.readouterr()
    return exit.value.code, out, err


def test_the_registry_holds_every_command_argparse_accepts(capsys):
    listed: dict[tuple[str, ...], set[str]] = {}
    for words in GROUPS:
        code, _, err = run_main(capsys, *words, "no-such-command")
        choices = re.search(r"invalid choice: .*\(choose from (.*)\)", err)
        assert code == 2 and choices, err
        listed[words] = {name.strip(" '\"") for name in choices[1].split(",")}
    registered: dict[tuple[str, ...], set[str]] = {}
    for command in TREE.registry:
        registered.setdefault(command.words[:-1], set()).add(command.words[-1])
    assert listed == registered
    for command in TREE.registry:  # and a command that is no group has no actions argparse would take
        if command.words not in GROUPS:
            assert "ACTION ..." not in command.parser.format_usage(), command.words
    assert {"serve", "staff token create", "batch validate", "voucher status"} <= COMMANDS.keys()


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_is_listed_with_its_help_and_has_its_own(name, capsys):
    command = COMMANDS[name]
    assert command.help.strip(), f"'{name}' has no help"
    assert squeezed(command.help) in squeezed(PARSERS[command.words[:-1]].format_help())
    code, own_help, err = run_main(capsys, *command.words, "--help")
    assert code == 0 and not err
    assert own_help.startswith(f"usage: voucher-central {name}")
    if command.parser.description:
        assert squeezed(command.parser.description.replace("%%", "%")) in squeezed(own_help)


def test_a_group_without_an_action_prints_its_help(capsys):
    for words in ("staff", "staff token", "batch"):
        assert main(words.split()) == 2
        assert capsys.readouterr().out.startswith(f"usage: voucher-central {words}")


@pytest.mark.parametrize("words", ["", "staff token create", "batch export"])
def test_the_installed_program_answers_help(words):
    result = subprocess.run([CLI, *words.split(), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith(f"usage: voucher-central {words}".rstrip())
    assert result.stderr == ""
