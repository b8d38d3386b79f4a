"""Coupons: templates, packs, the issues that hand packs out, and the coupons members hold."""
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models import db, one_of

TEMPLATE_KINDS = ("cash_off", "discount", "gift")
CHANNELS = ("online", "store", "all")
COUPON_STATUSES = ("unused", "used", "expired", "revoked")
COUPON_SOURCES = ("payment", "signin", "task", "mall", "levelup", "birthday", "operator", "invite")


class CouponTemplate(db.Model):
    """What a coupon is worth and for how long; its terms never change once created."""

    __tablename__ = "coupon_template"
    __table_args__ = (
        CheckConstraint(one_of("kind", TEMPLATE_KINDS), name="kind"),
        CheckConstraint(one_of("channel", CHANNELS), name="channel"),
        CheckConstraint("kind <> 'cash_off' OR amount_fen > 0", name="cash_off"),
        CheckConstraint("kind <> 'discount' OR discount_pct BETWEEN 1 AND 99", name="discount"),
        CheckConstraint("kind <> 'gift' OR gift_name IS NOT NULL", name="gift"),
        CheckConstraint("min_spend_fen >= 0", name="min_spend"),
        CheckConstraint("(valid_days > 0 AND valid_from IS NULL AND valid_until IS NULL) OR "
                        "(valid_days IS NULL AND valid_until > valid_from)", name="validity"),
        CheckConstraint("issued >= 0", name="issued"),
        CheckConstraint("total_stock IS NULL OR issued <= total_stock", name="stock"),
        CheckConstraint("per_member_limit IS NULL OR per_member_limit > 0", name="per_member_limit"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    amount_fen: Mapped[int | None]
    discount_pct: Mapped[int | None]
    min_spend_fen: Mapped[int] = mapped_column(default=0)
    gift_name: Mapped[str | None] = mapped_column(String(64))
    valid_days: Mapped[int | None]
    valid_from: Mapped[datetime | None]
    valid_until: Mapped[datetime | None]
    total_stock: Mapped[int | None]
    issued: Mapped[int] = mapped_column(default=0)
    per_member_limit: Mapped[int | None]
    channel: Mapped[str] = mapped_column(String(8), default="all")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]


class CouponPack(db.Model):
    """Templates handed out together (after payment, on level-up, by an operator...)."""

    __tablename__ = "coupon_pack"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    items: Mapped[list["CouponPackItem"]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="CouponPackItem.template_id")


class CouponPackItem(db.Model):
    __tablename__ = "coupon_pack_item"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity"),)

    pack_id: Mapped[int] = mapped_column(ForeignKey("coupon_pack.id"), primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("coupon_template.id"), primary_key=True, index=True)
    quantity: Mapped[int]


class CouponIssue(db.Model):
    """One hand-out of a pack to a member; its business key makes a repeat hand out nothing more."""

    __tablename__ = "coupon_issue"
    __table_args__ = (CheckConstraint(one_of("source", COUPON_SOURCES), name="source"),
                      Index("ix_coupon_issue_created_at", "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    business_key: Mapped[str] = mapped_column(String(160), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    pack_id: Mapped[int] = mapped_column(ForeignKey("coupon_pack.id"))
    source: Mapped[str] = mapped_column(String(16))
    source_ref: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]


class Coupon(db.Model):
    """A member's coupon: one life, unused → used | expired | revoked."""

    __tablename__ = "coupon"
    __table_args__ = (
        CheckConstraint(one_of("status", COUPON_STATUSES), name="status"),
        CheckConstraint(one_of("source", COUPON_SOURCES), name="source"),
        CheckConstraint("valid_until > valid_from", name="validity"),
        CheckConstraint("held_by IS NULL OR status = 'unused'", name="held"),
        CheckConstraint("status <> 'used' OR used_at IS NOT NULL", name="used"),
        CheckConstraint("status <> 'revoked' OR revoked_at IS NOT NULL", name="revoked"),
        Index("ix_coupon_member_status", "member_id", "status", "id"),
        Index("ix_coupon_member_template", "member_id", "template_id"),
        Index("ix_coupon_due", "status", "valid_until"),
        Index("ix_coupon_issued_at", "issued_at"),
        Index("ix_coupon_used_at", "used_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("coupon_template.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    issue_id: Mapped[int] = mapped_column(ForeignKey("coupon_issue.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="unused")
    source: Mapped[str] = mapped_column(String(16))
    source_ref: Mapped[str | None] = mapped_column(String(64), index=True)
    business_key: Mapped[str] = mapped_column(String(191), unique=True)
    issued_at: Mapped[datetime]
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime]
    held_by: Mapped[str | None] = mapped_column(String(64), index=True)
    used_at: Mapped[datetime | None]
    used_ref: Mapped[str | None] = mapped_column(String(64))
    revoked_at: Mapped[datetime | None]
    revoke_reason: Mapped[str | None] = mapped_column(String(64))
    template: Mapped[CouponTemplate] = relationship(lazy="joined", innerjoin=True)
