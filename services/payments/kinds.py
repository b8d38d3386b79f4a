"""Payments of another kind than a purchase (the cash part of a mall order): the area that opened
them says what their payment, close and refund mean, through the `payment_kinds` it contributes."""
from models import Payment
from services.platform.areas import wiring

PURCHASE = "purchase"


def settler_of(payment: Payment):
    """The settling hooks of a payment that is not a purchase: `paid(payment)`, `closed(payment)`,
    `refunded(payment, refund)`; each runs in the caller's transaction, under the payment's lock."""
    return wiring().payment_kinds[payment.kind]
