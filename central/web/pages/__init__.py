"""The dashboard's pages, one module per area; each is thin and calls central/services."""
