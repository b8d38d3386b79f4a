"""Business rules and transactions: the only code that writes."""
