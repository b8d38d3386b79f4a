"""The points mall: goods, the virtual codes some of them hand out, and members' orders."""
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models import db

GOODS_KINDS = ("physical", "coupon", "virtual")
GOODS_STATUSES = ("on_sale", "off_sale")
ORDER_STATUSES = ("pending_payment", "paid", "shipped", "completed", "cancelled", "refunded")
# the orders whose units count as sold (cancelled and refunded ones gave them back)
LIVE_ORDER_STATUSES = ("paid", "shipped", "completed")
CODE_STATUSES = ("available", "delivered", "void")


class Goods(db.Model):
    """Something members redeem: for points only (price_fen 0) or points plus cash.

    Units are counted in three places that always add up to `total`: `stock` (for sale now),
    `reserved` (held by unpaid orders) and `sold`. A virtual goods' stock is its codes not yet handed out.
    """

    __tablename__ = "goods"
    __table_args__ = (
        CheckConstraint(f"kind IN {GOODS_KINDS}", name="kind"),
        CheckConstraint(f"status IN {GOODS_STATUSES}", name="status"),
        CheckConstraint("price_points >= 0 AND price_fen >= 0 AND price_points + price_fen > 0", name="price"),
        CheckConstraint("stock >= 0 AND reserved >= 0 AND sold >= 0", name="stock"),
        CheckConstraint("total = stock + reserved + sold", name="total"),
        CheckConstraint("per_order_limit > 0", name="per_order_limit"),
        CheckConstraint("per_member_limit IS NULL OR per_member_limit > 0", name="per_member_limit"),
        Index("ix_goods_category_id", "category", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, default="")
    images: Mapped[list] = mapped_column(default=list)  # image URLs
    category: Mapped[str | None] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    price_points: Mapped[int]
    price_fen: Mapped[int]
    coupon_template_id: Mapped[int | None] = mapped_column(ForeignKey("coupon_template.id"))
    coupon_pack_id: Mapped[int | None] = mapped_column(ForeignKey("coupon_pack.id"))  # a pack of that one template
    total: Mapped[int] = mapped_column(default=0)
    stock: Mapped[int] = mapped_column(default=0)
    reserved: Mapped[int] = mapped_column(default=0)
    sold: Mapped[int] = mapped_column(default=0)
    per_order_limit: Mapped[int] = mapped_column(default=1)
    per_member_limit: Mapped[int | None]
    min_level_id: Mapped[int | None] = mapped_column(ForeignKey("level.id", ondelete="SET NULL"))
    level_discount: Mapped[bool] = mapped_column(default=True)  # the level's mall_discount_pct on the cash part
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="on_sale")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class VirtualCode(db.Model):
    """One code of a virtual goods' stock list; handed out to one order unit, never again."""

    __tablename__ = "virtual_code"
    __table_args__ = (
        UniqueConstraint("goods_id", "code", name="uq_virtual_code_goods_code"),
        CheckConstraint(f"status IN {CODE_STATUSES}", name="status"),
        CheckConstraint("(status = 'available') = (order_id IS NULL)", name="order"),
        Index("ix_virtual_code_goods_status_id", "goods_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    goods_id: Mapped[int] = mapped_column(ForeignKey("goods.id"))
    code: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default="available")
    order_id: Mapped[int | None] = mapped_column(ForeignKey("mall_order.id"), index=True)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class MallOrder(db.Model):
    """A member's redemption of `quantity` units of one goods, and where it is in its life.

    An order paid in cash has a payment; every change to it is made under its payment's row lock
    (taken first), so the notify, the time-out, the member's cancel and a refund never cross.
    """

    __tablename__ = "mall_order"
    __table_args__ = (
        CheckConstraint(f"status IN {ORDER_STATUSES}", name="status"),
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("points >= 0 AND amount_fen >= 0", name="price"),
        Index("ix_mall_order_member_id_id", "member_id", "id"),
        Index("ix_mall_order_member_goods", "member_id", "goods_id", "status"),
        Index("ix_mall_order_status_shipped_at", "status", "shipped_at"),
        Index("ix_mall_order_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_no: Mapped[str] = mapped_column(String(32), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    goods_id: Mapped[int] = mapped_column(ForeignKey("goods.id"))
    goods_name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[int]
    points: Mapped[int]  # for the whole order
    amount_fen: Mapped[int]  # the cash part, after the level's discount
    discount_fen: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(24))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payment.id"), unique=True)
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refund.id"))  # the latest refund asked for
    address: Mapped[dict | None]
    tracking_no: Mapped[str | None] = mapped_column(String(64))
    coupon_codes: Mapped[list] = mapped_column(default=list)
    refund_reason: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]  # unpaid after this: cancelled
    paid_at: Mapped[datetime | None]
    shipped_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    refunded_at: Mapped[datetime | None]
