"""The KV's rules, free of Telegram: services take a session and plain values."""
