"""Subscribe-message grants and the outbox (filled in by the messages work)."""
