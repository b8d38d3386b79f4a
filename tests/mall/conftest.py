"""Mall tests leave no payment pending: a later test's reconcile would meet it (and the faults it sets
up for its own payment)."""
import pytest
from sqlalchemy import select

from models import Payment, db
from services.payments import payments


@pytest.fixture(autouse=True)
def close_what_is_left_pending(app):
    yield
    db.session.rollback()
    for payment_id in db.session.scalars(select(Payment.id).where(Payment.kind == "mall", Payment.status == "pending")):
        payments.close_unless_paid(payment_id)
