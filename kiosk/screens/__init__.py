"""Screens of the kiosk, one per file."""
