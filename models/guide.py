"""Shopping guides (导购) of the stores, members' exclusive guides, member codes, in-store receipts,
and the WeCom contacts the guides' 联系我 codes bring."""
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models import db

GUIDE_STATUSES = ("active", "disabled")
# how a member came to their guide: scanned the guide's mini-program code, was scanned by the guide,
# was assigned by the store after paying there, added the guide in WeCom, or was moved by an operator
BINDING_WAYS = ("guide_code", "member_code", "store_assigned", "wecom", "transfer")


class Guide(db.Model):
    __tablename__ = "guide"
    __table_args__ = (CheckConstraint(f"status IN {GUIDE_STATUSES}", name="status"),
                      Index("ix_guide_store_status", "store_id", "status", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("store.id"))
    name: Mapped[str] = mapped_column(String(32))
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    wecom_userid: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="active")
    token_version: Mapped[int] = mapped_column(default=0)
    qr_image_url: Mapped[str | None] = mapped_column(String(512))  # the guide's own QR, without WeCom
    # the WeCom 联系我 code, made by a job (retried with backoff while WeCom cannot be reached)
    wecom_config_id: Mapped[str | None] = mapped_column(String(64))
    wecom_qr_url: Mapped[str | None] = mapped_column(String(512))
    wecom_attempts: Mapped[int] = mapped_column(default=0)
    wecom_retry_at: Mapped[datetime | None]
    wecom_error: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime]


class GuideBinding(db.Model):
    """A member's exclusive guide: the first binding wins and lasts (an operator's transfer moves it)."""

    __tablename__ = "guide_binding"
    __table_args__ = (CheckConstraint(f"how IN {BINDING_WAYS}", name="how"),
                      Index("ix_guide_binding_guide_id_id", "guide_id", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), unique=True)
    guide_id: Mapped[int] = mapped_column(ForeignKey("guide.id"))
    how: Mapped[str] = mapped_column(String(16))
    bound_at: Mapped[datetime]


class GuideBindingChange(db.Model):
    """Every binding and move, with how and when (the binding row holds only the current guide)."""

    __tablename__ = "guide_binding_change"
    __table_args__ = (CheckConstraint(f"how IN {BINDING_WAYS}", name="how"),
                      Index("ix_guide_binding_change_to_at", "to_guide_id", "created_at"),
                      Index("ix_guide_binding_change_created_at", "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    from_guide_id: Mapped[int | None] = mapped_column(ForeignKey("guide.id"))
    to_guide_id: Mapped[int] = mapped_column(ForeignKey("guide.id"))
    how: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]


class MemberCodeSecret(db.Model):
    """The per-member secret member codes are derived from, and the last code step a guide scanned
    (kept in SQL so that a scanned code stays used if Redis is flushed)."""

    __tablename__ = "member_code_secret"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), unique=True)
    secret: Mapped[str] = mapped_column(String(64))
    last_scanned_step: Mapped[int | None]


class GuideScan(db.Model):
    __tablename__ = "guide_scan"
    __table_args__ = (Index("ix_guide_scan_guide_member", "guide_id", "member_id", "scanned_at"),
                      Index("ix_guide_scan_scanned_at", "scanned_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    guide_id: Mapped[int] = mapped_column(ForeignKey("guide.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    scanned_at: Mapped[datetime]


class StorePurchase(db.Model):
    """An in-store receipt a guide recorded: its points and growth, once per store and receipt number."""

    __tablename__ = "store_purchase"
    __table_args__ = (UniqueConstraint("store_id", "receipt_no", name="uq_store_purchase_store_receipt"),
                      CheckConstraint("amount_fen > 0", name="amount"),
                      Index("ix_store_purchase_guide_created", "guide_id", "created_at"),
                      Index("ix_store_purchase_created_at", "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("store.id"))
    guide_id: Mapped[int] = mapped_column(ForeignKey("guide.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    receipt_no: Mapped[str] = mapped_column(String(64))
    amount_fen: Mapped[int]
    points: Mapped[int]
    growth: Mapped[int]
    created_at: Mapped[datetime]


class WeComContact(db.Model):
    """A customer added (or removed) a guide in WeCom: recorded as WeCom told it, bound or not."""

    __tablename__ = "wecom_contact"
    __table_args__ = (Index("ix_wecom_contact_external", "external_userid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    change_type: Mapped[str] = mapped_column(String(32))
    wecom_userid: Mapped[str] = mapped_column(String(64))
    external_userid: Mapped[str] = mapped_column(String(64))
    state: Mapped[str | None] = mapped_column(String(64))
    guide_id: Mapped[int | None] = mapped_column(ForeignKey("guide.id"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    unionid: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]


GUIDE_METRICS = ("members_bound", "coupons_redeemed", "purchases", "amount_fen")
TARGET_PERIODS = ("week", "month")


class GuideTarget(db.Model):
    """导购任务: a target operators give guides for each week or month (one guide, a store's, or all)."""

    __tablename__ = "guide_target"
    __table_args__ = (CheckConstraint(f"metric IN {GUIDE_METRICS}", name="metric"),
                      CheckConstraint(f"period IN {TARGET_PERIODS}", name="period"),
                      CheckConstraint("target > 0", name="target"))

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(64))
    metric: Mapped[str] = mapped_column(String(32))
    period: Mapped[str] = mapped_column(String(16))
    target: Mapped[int]
    store_id: Mapped[int | None] = mapped_column(ForeignKey("store.id"))
    guide_id: Mapped[int | None] = mapped_column(ForeignKey("guide.id"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
