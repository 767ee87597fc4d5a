"""Typed modal dialogs: each dismisses with its answer."""
