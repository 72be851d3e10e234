"""Alembic migrations; run them with `mitmachbot migrate` (and `mitmachbot run` does it first)."""
