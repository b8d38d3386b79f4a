"""Instants written as text in tests."""
from datetime import UTC, datetime


def at(text: str) -> datetime:
    """An instant from ISO text with offset, e.g. at('2026-11-23T23:59:00+08:00')."""
    return datetime.fromisoformat(text).astimezone(UTC)
