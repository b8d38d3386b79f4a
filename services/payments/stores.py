"""Stores: where in-store payments happen and guides work."""
from sqlalchemy import select

from models import Store, db
from services.platform import clock
from services.platform.db import transaction
from services.platform.errors import NotFound


def create_store(*, name: str) -> Store:
    with transaction():
        store = Store(name=name, active=True, created_at=clock.now())
        db.session.add(store)
    return store


def all_stores() -> list[Store]:
    return list(db.session.scalars(select(Store).order_by(Store.id)))


def get_store(store_id: int, *, active: bool = False) -> Store:
    store = db.session.get(Store, store_id)
    if store is None or (active and not store.active):
        raise NotFound("No such store.")
    return store
