"""Reading the database in tests: row counts, to show that nothing was half-written."""
from sqlalchemy import func, select

from models import db


def row_counts(*models) -> dict:
    """How many rows each table has, read in a fresh transaction."""
    db.session.rollback()
    return {model.__tablename__: db.session.scalar(select(func.count()).select_from(model)) for model in models}


def count(model, *where) -> int:
    """Rows of `model` matching `where`, read in a fresh transaction (what other processes committed)."""
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def fresh(statement) -> list:
    """A statement's rows, read in a fresh transaction."""
    db.session.rollback()
    return db.session.execute(statement).all()
