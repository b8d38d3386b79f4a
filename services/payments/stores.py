"""Stores: where in-store payments happen and guides work."""
from sqlalchemy import select, update

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


def find_store(store_id: int) -> Store | None:
    return db.session.get(Store, store_id)


def take_turn(store_id: int) -> int:
    """Count one more member assigned by the store (inside the caller's transaction, last in the lock
    order: the row stays locked to the commit); the count, whose turn it is among its guides."""
    return db.session.execute(update(Store).where(Store.id == store_id).values(assigned=Store.assigned + 1)
                              .returning(Store.assigned).execution_options(synchronize_session=False)).scalar()


def get_store(store_id: int, *, active: bool = False) -> Store:
    store = db.session.get(Store, store_id)
    if store is None or (active and not store.active):
        raise NotFound("No such store.")
    return store
