"""The points lottery (积分抽奖): lotteries, their prizes with weights and stock, and every draw."""
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models import db

PRIZE_KINDS = ("points", "coupon", "goods", "none")


class Lottery(db.Model):
    __tablename__ = "lottery"
    __table_args__ = (CheckConstraint("cost_points > 0", name="cost"), CheckConstraint("daily_limit > 0", name="limit"))

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    cost_points: Mapped[int]
    daily_limit: Mapped[int]  # draws per member per business day
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    prizes: Mapped[list["LotteryPrize"]] = relationship(lazy="selectin", order_by="LotteryPrize.id")


class LotteryPrize(db.Model):
    """A prize and its weight; `stock` None: unlimited. A prize out of stock is never drawn."""

    __tablename__ = "lottery_prize"
    __table_args__ = (CheckConstraint(f"kind IN {PRIZE_KINDS}", name="kind"), CheckConstraint("weight > 0", name="weight"),
                      CheckConstraint("stock IS NULL OR stock >= 0", name="stock"),
                      CheckConstraint("points >= 0", name="points"))

    id: Mapped[int] = mapped_column(primary_key=True)
    lottery_id: Mapped[int] = mapped_column(ForeignKey("lottery.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    points: Mapped[int] = mapped_column(default=0)
    coupon_template_id: Mapped[int | None] = mapped_column(ForeignKey("coupon_template.id"))
    coupon_pack_id: Mapped[int | None] = mapped_column(ForeignKey("coupon_pack.id"))  # a pack of that one template
    goods_id: Mapped[int | None] = mapped_column(ForeignKey("goods.id"))  # a goods prize: one unit, as a mall order
    weight: Mapped[int]
    stock: Mapped[int | None]
    drawn: Mapped[int] = mapped_column(default=0)


class LotteryDraw(db.Model):
    """One draw: what it cost, what it drew (None: nothing), and the weights it was drawn from."""

    __tablename__ = "lottery_draw"
    __table_args__ = (Index("ix_lottery_draw_member_day", "lottery_id", "member_id", "day"),
                      Index("ix_lottery_draw_created_at", "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    lottery_id: Mapped[int] = mapped_column(ForeignKey("lottery.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    prize_id: Mapped[int | None] = mapped_column(ForeignKey("lottery_prize.id"))
    day: Mapped[date]
    points_spent: Mapped[int]
    weights: Mapped[dict]  # prize id → weight, of the prizes in stock when drawn
    coupon_codes: Mapped[list] = mapped_column(default=list)
    business_key: Mapped[str] = mapped_column(String(191), unique=True)
    created_at: Mapped[datetime]
