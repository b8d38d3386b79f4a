"""Stores, WeChat Pay payments, their refunds, and the after-payment rules (支付有礼)."""
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models import db, one_of

PAYMENT_STATUSES = ("pending", "paid", "closed", "partially_refunded", "refunded")
# what a paid payment owes its member: due (not yet paid), rewarded, withheld (the member is frozen),
# retrying (paying them failed; retried with backoff), none (paid after its close: refunded instead)
REWARD_STATUSES = ("due", "rewarded", "withheld", "retrying", "none")
REFUND_STATUSES = ("processing", "succeeded", "failed")
# purchase: paid at the till or online, earns rewards; mall: the cash part of a points mall order
PAYMENT_KINDS = ("purchase", "mall")


class Store(db.Model):
    __tablename__ = "store"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    assigned: Mapped[int] = mapped_column(default=0)  # members it gave a guide: the round-robin's turn
    service_reply: Mapped[str | None] = mapped_column(String(255))  # customer service, for members without a guide


class Payment(db.Model):
    """One WeChat Pay order and, once paid, what it earned."""

    __tablename__ = "payment"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount"),
        CheckConstraint("original_amount_fen >= amount_fen", name="original_amount"),
        CheckConstraint("refunded_fen >= 0 AND refunded_fen <= amount_fen", name="refunded"),
        CheckConstraint(f"status IN {PAYMENT_STATUSES}", name="status"),
        CheckConstraint(f"kind IN {PAYMENT_KINDS}", name="kind"),
        CheckConstraint(f"reward_status IS NULL OR reward_status IN {REWARD_STATUSES}", name="reward_status"),
        Index("ix_payment_status_created_at", "status", "created_at"),
        Index("ix_payment_reward_status", "reward_status"),
        Index("ix_payment_member_id_id", "member_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    out_trade_no: Mapped[str] = mapped_column(String(32), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    kind: Mapped[str] = mapped_column(String(16), default="purchase")
    store_id: Mapped[int | None] = mapped_column(ForeignKey("store.id"))
    description: Mapped[str] = mapped_column(String(127))
    original_amount_fen: Mapped[int]
    amount_fen: Mapped[int]
    coupon_code: Mapped[str | None] = mapped_column(String(32))
    discount_fen: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(24), default="pending")
    prepay_id: Mapped[str | None] = mapped_column(String(64))
    transaction_id: Mapped[str | None] = mapped_column(String(64))
    refunded_fen: Mapped[int] = mapped_column(default=0)
    paid_after_close: Mapped[bool] = mapped_column(default=False)
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("payment_rule.id"))
    points_awarded: Mapped[int] = mapped_column(default=0)
    growth_awarded: Mapped[int] = mapped_column(default=0)
    coupon_codes: Mapped[list | None]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    paid_at: Mapped[datetime | None]
    rewarded_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    reward_status: Mapped[str | None] = mapped_column(String(16))
    reward_attempts: Mapped[int] = mapped_column(default=0)
    reward_retry_at: Mapped[datetime | None]
    reward_error: Mapped[str | None] = mapped_column(String(255))
    # a problem that will not go away by retrying (WeChat notified another amount): a person looks
    attention: Mapped[str | None] = mapped_column(String(255))


class PaymentRule(db.Model):
    """支付有礼: a payment of at least min_amount_fen (in scope and window) earns a coupon pack."""

    __tablename__ = "payment_rule"
    __table_args__ = (
        CheckConstraint("min_amount_fen >= 0", name="min_amount"),
        CheckConstraint("per_member_limit IS NULL OR per_member_limit > 0", name="per_member_limit"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    min_amount_fen: Mapped[int]
    coupon_pack_id: Mapped[int] = mapped_column(ForeignKey("coupon_pack.id"))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("store.id"))
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    per_member_limit: Mapped[int | None]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]


class Refund(db.Model):
    """A refund of (part of) a payment; its effects are applied once, when WeChat confirms it."""

    __tablename__ = "refund"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount"),
        CheckConstraint(f"status IN {REFUND_STATUSES}", name="status"),
        Index("ix_refund_status_created_at", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payment.id"), index=True)
    out_refund_no: Mapped[str] = mapped_column(String(64), unique=True)
    request_key: Mapped[str] = mapped_column(String(191), unique=True)
    amount_fen: Mapped[int]
    reason: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="processing")
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operator.id"))
    refund_id: Mapped[str | None] = mapped_column(String(64))
    points_reversed: Mapped[int] = mapped_column(default=0)
    growth_reversed: Mapped[int] = mapped_column(default=0)
    coupons_revoked: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    succeeded_at: Mapped[datetime | None]
    # sending to WeChat: accepted when submitted_at is set; until then (and until WeChat's final
    # answer) reconcile tries again at retry_at, with the same out_refund_no
    submitted_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    retry_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(255))
    failure_reason: Mapped[str | None] = mapped_column(String(64))  # WeChat's final no (err_code, CHANGE…)


BILL_OUTCOMES = ("no_bill", "reconciled", "attention")


class BillReconciliation(db.Model):
    """One Beijing day of WeChat Pay's trade bill (对账单) matched against our payments and refunds: the
    last run's counts, what runs mended in all, and each finding a person must look at."""

    __tablename__ = "bill_reconciliation"
    __table_args__ = (CheckConstraint(one_of("outcome", BILL_OUTCOMES), name="outcome"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bill_date: Mapped[date] = mapped_column(unique=True)
    outcome: Mapped[str] = mapped_column(String(16))
    lines: Mapped[int] = mapped_column(default=0)  # the bill's payment and refund lines
    matched: Mapped[int] = mapped_column(default=0)  # lines our books agreed with (last run)
    mended: Mapped[int] = mapped_column(default=0)  # settled or refunded because of the bill (every run)
    attention: Mapped[int] = mapped_column(default=0)  # findings for a person (last run)
    findings: Mapped[list] = mapped_column(default=list)  # [{"what", "out_trade_no", "out_refund_no"?, …}]
    runs: Mapped[int] = mapped_column(default=0)
    first_run_at: Mapped[datetime]
    last_run_at: Mapped[datetime]
