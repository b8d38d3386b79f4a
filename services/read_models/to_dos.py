"""What the operators have to do, counted for the console's dashboard: physical orders paid and not shipped,
mall refunds and payments waiting for a person, and days whose WeChat Pay bill had findings."""
from sqlalchemy import func, select

from models import db
from models.mall import MallOrder
from services.payments import payments


def to_dos() -> dict:
    return {"orders_to_ship": db.session.scalar(select(func.count()).select_from(MallOrder).where(
                MallOrder.status == "paid", MallOrder.kind == "physical")),
            **payments.needing_attention()}
