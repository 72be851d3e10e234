"""The database: engines, the SQLite driver, sessions, dialect helpers, migrations, FSM storage."""
