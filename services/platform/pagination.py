"""Keyset pagination: `?limit=&cursor=` → items and an opaque next cursor."""
import base64

from sqlalchemy import select

from models import db
from services.platform.db import MAX_ID
from services.platform.errors import InvalidRequest


def page(session, stmt, *, id_column, limit: int, cursor: str | None) -> dict:
    """One page of `stmt`, newest first by `id_column`."""
    if cursor:
        stmt = stmt.where(id_column < _decode(cursor))
    return page_of(list(session.scalars(stmt.order_by(id_column.desc()).limit(limit + 1))), limit)


def before_id(cursor: str | None) -> int | None:
    """The id a page starts below (None: the first page), for a page read with a prebuilt statement:
    its rows are newest first, `limit + 1` of them, handed to page_of."""
    return _decode(cursor) if cursor else None


def page_of(rows: list, limit: int) -> dict:
    """The page from `limit + 1` rows read newest first: the items and the cursor of the next page."""
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": rows, "next_cursor": _encode(rows[-1].id) if more else None}


def page_where(model, *, limit: int, cursor: str | None, **equal) -> dict:
    """One page of `model`'s rows, newest first, whose columns equal the values given (None: any value)."""
    stmt = select(model).where(*(getattr(model, name) == value for name, value in equal.items() if value is not None))
    return page(db.session, stmt, id_column=model.id, limit=limit, cursor=cursor)


def _encode(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def _decode(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, value = raw.split(":", 1)
        if prefix != "id" or not value.isdigit() or not 0 < int(value[:12]) <= MAX_ID:
            raise ValueError(raw)
        return int(value)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequest("The cursor is not valid.", details={"cursor": cursor}) from exc
