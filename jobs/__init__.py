"""What the clock starts. Thin like handlers: each job opens its own session and calls services."""
