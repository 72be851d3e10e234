"""Mitmachbot: the application package (settings, wiring, CLI and the KV's rules in services)."""
