"""Reading the database in tests: row counts, to show that nothing was half-written."""
from sqlalchemy import func, select

from models import db


def row_counts(*models) -> dict:
    """How many rows each table has, read in a fresh transaction."""
    db.session.rollback()
    return {model.__tablename__: db.session.scalar(select(func.count()).select_from(model)) for model in models}
