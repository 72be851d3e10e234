"""The KV's setup as one YAML file: validate it, apply it to the database, export it again.

An organiser keeps Stadtteile (with their neighbours), topics, activity types (with the kind of
field action they are), groups, campaigns, field actions (Infostände, Haustür-Runden) with their
shifts, Gedenktage, the guide and the served Telegram groups in one file (format:
examples/kv-musterstadt.yaml). `load_setup` reads it into plain frozen
dataclasses and reports every mistake at once with its line; `apply_setup` brings the database in
line with it inside the caller's transaction and keeps the file's text; `export_setup` writes
the stored state back into that file, its comments kept (or in a normalised form when there is
none), so import -> export -> import changes nothing.

Messages speak the active locale (bot.services.translation): `mitmachbot import` and `export`
set the admin's, the bot sets the member's, and without one they are English.

The package: schema (the plain values, limits, errors), loading (YAML syntax and node helpers),
reader (validation: load_setup), apply (apply_setup), export (read_setup, export_setup,
dump_setup), form (how each entry is written) and roundtrip (exporting into the file last
imported, its comments kept). Import from here; the modules are an implementation detail.
"""

from bot.services.kv_setup.apply import ChangeSummary, SectionChanges, apply_setup
from bot.services.kv_setup.export import dump_setup, export_setup, read_setup
from bot.services.kv_setup.loading import decode_setup
from bot.services.kv_setup.reader import load_setup, load_setup_bytes
from bot.services.kv_setup.schema import (
    BIGINT_MAX,
    LANGUAGES,
    LONG_TEXT_LENGTH,
    MAX_FILE_BYTES,
    PLACE_LENGTH,
    PRIVACY_CONTACT_LENGTH,
    PROFILE_ID,
    RULE_LENGTH,
    ActionSetup,
    CampaignSetup,
    ChatSetup,
    Entry,
    GroupSetup,
    GuideEntry,
    Host,
    KvSetup,
    MemorialEvent,
    MemorialSetup,
    NothingToExportError,
    SetupError,
    SetupInvalidError,
    ShiftSetup,
    derive_key,
)

__all__ = [
    "BIGINT_MAX",
    "LANGUAGES",
    "LONG_TEXT_LENGTH",
    "MAX_FILE_BYTES",
    "PLACE_LENGTH",
    "PRIVACY_CONTACT_LENGTH",
    "PROFILE_ID",
    "RULE_LENGTH",
    "ActionSetup",
    "CampaignSetup",
    "ChangeSummary",
    "ChatSetup",
    "Entry",
    "GroupSetup",
    "GuideEntry",
    "Host",
    "KvSetup",
    "MemorialEvent",
    "MemorialSetup",
    "NothingToExportError",
    "SectionChanges",
    "SetupError",
    "SetupInvalidError",
    "ShiftSetup",
    "apply_setup",
    "decode_setup",
    "derive_key",
    "dump_setup",
    "export_setup",
    "load_setup",
    "load_setup_bytes",
    "read_setup",
]
