"""Babel catalogs: messages.pot and <locale>/LC_MESSAGES/messages.po (the .mo files are built)."""
