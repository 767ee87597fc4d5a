"""The sync agent of the store host (issue 3)."""
