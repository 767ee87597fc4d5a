"""Widgets of the kiosk's screens."""
