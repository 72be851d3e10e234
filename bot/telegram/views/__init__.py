"""One module per feature: the messages and keyboards it shows, in the current i18n locale.

Handlers answer with them and the outbox's renderers send them, so a reminder looks the same
whether it is asked for or comes on its own.
"""
