"""Reports for organisers: figures over a period, aggregates only (see model)."""
