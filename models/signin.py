"""Daily sign-in: records, rules, badges (filled in by the sign-in work)."""
