"""The outbox: the delivery worker, what it sends, and the renderer of every kind of row."""
