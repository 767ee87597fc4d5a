"""The footer's keys in the till's words.

Textual keeps a node's BINDINGS, descriptions included, as the class declares them; the till's
language is known only once its files are read, and may change with a snapshot. `reword` gives a
screen (or the app) its bindings again with each description translated from the class's
English (marked with `N_` where declared), and has the footer drawn again.
"""

from __future__ import annotations

from dataclasses import replace

from textual.dom import DOMNode

from words import Words


def reword(node: DOMNode, words: Words) -> None:
    """`node`'s bindings, their descriptions in `words`; the footer follows."""
    declared = type(node)._merged_bindings
    if declared is None:
        return
    for key, bindings in declared.key_to_bindings.items():
        node._bindings.key_to_bindings[key] = [
            replace(b, description=words.gettext(b.description)) if b.description else b for b in bindings
        ]
    node.refresh_bindings()
