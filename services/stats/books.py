"""What the books say a window moved: points and growth (from the ledgers, by the time of each entry), tasks,
the lottery, money, the mall, coupons and the guides' work. Each query reads only the window's rows,
through an index on the time column it bounds.

Money and the mall count by the day the member paid or ordered (created_at), once it is paid or a refund
succeeded: a notify or a refund confirmed later moves that day, which the worker's re-roll catches up."""
from collections import Counter, defaultdict

from sqlalchemy import String, cast, func, literal, select

from models import (GrowthEntry, Guide, GuideBindingChange, LotteryDraw, LotteryPrize, MallOrder, Payment, PointsEntry,
                    Refund, StorePurchase, Task, TaskClaim, db)
from models.coupon import Coupon, CouponIssue
from models.invite import Invitation
from services.payments import payments
from services.stats.window import Window

POINT_KINDS = ("earn", "spend", "expire", "reverse")
GROWTH_KINDS = ("earn", "reverse")
NO_PRIZE = (None, "none")
GUIDE_FIGURES = ("bindings", "purchases", "purchases_fen", "write_offs")


def points(window: Window) -> dict:
    """Points issued and spent by reason, expired, reversed (earnings taken back) and returned (spending
    given back), and their net: what the window added to the points outstanding."""
    moved = {part: Counter() for part in ("issued", "spent", "expired", "reversed", "returned")}
    credit = PointsEntry.delta > 0
    for kind, reason, is_credit, total in db.session.execute(
            select(PointsEntry.kind, PointsEntry.reason, credit, func.sum(PointsEntry.delta))
            .where(PointsEntry.kind.in_(POINT_KINDS), *window.of(PointsEntry.created_at))
            .group_by(PointsEntry.kind, PointsEntry.reason, credit)):
        part = {"earn": "issued", "spend": "spent", "expire": "expired"}.get(kind) or (
            "returned" if is_credit else "reversed")
        if total:
            moved[part][reason] += abs(total)
    net = sum(moved["issued"].values()) + sum(moved["returned"].values()) - sum(
        sum(moved[part].values()) for part in ("spent", "expired", "reversed"))
    return {**{f"points_{part}": sum(counts.values()) for part, counts in moved.items()},
            **{f"points_{part}_by_reason": dict(sorted(moved[part].items()))
               for part in ("issued", "spent", "reversed", "returned")},
            "points_net": net}


def points_net(window: Window) -> int:
    """What the window added to the points outstanding: the sum of its entries."""
    return db.session.scalar(select(func.coalesce(func.sum(PointsEntry.delta), 0)).where(
        PointsEntry.kind.in_(POINT_KINDS), *window.of(PointsEntry.created_at)))


def growth(window: Window) -> dict:
    moved = dict(db.session.execute(select(GrowthEntry.kind, func.sum(GrowthEntry.delta)).where(
        GrowthEntry.kind.in_(GROWTH_KINDS), *window.of(GrowthEntry.created_at)).group_by(GrowthEntry.kind)).all())
    return {"growth_issued": moved.get("earn") or 0, "growth_reversed": -(moved.get("reverse") or 0)}


def tasks(window: Window) -> dict:
    claimed = dict(db.session.execute(
        select(Task.code, func.count()).select_from(TaskClaim).join(Task, Task.id == TaskClaim.task_id)
        .where(*window.of(TaskClaim.created_at)).group_by(Task.code)).all())
    return {"tasks_claimed": sum(claimed.values()), "tasks": dict(sorted(claimed.items()))}


def lottery(window: Window) -> dict:
    """Draws, and the prizes they won by kind (a draw of nothing wins no prize)."""
    drawn = dict(db.session.execute(
        select(LotteryPrize.kind, func.count()).select_from(LotteryDraw)
        .outerjoin(LotteryPrize, LotteryPrize.id == LotteryDraw.prize_id)
        .where(*window.of(LotteryDraw.created_at)).group_by(LotteryPrize.kind)).all())
    prizes = {kind: count for kind, count in sorted(drawn.items(), key=str) if kind not in NO_PRIZE}
    return {"lottery_draws": sum(drawn.values()), "lottery_prizes": sum(prizes.values()),
            "lottery_prizes_by_kind": prizes}


def money(window: Window) -> dict:
    """Payments made in the window that were paid (by kind: purchases, the mall's cash), the refunds asked
    in it that succeeded, and the coupon packs handed out (支付有礼: source payment)."""
    paid = {kind: (count, fen) for kind, count, fen in db.session.execute(
        select(Payment.kind, func.count(), func.sum(Payment.amount_fen))
        .where(Payment.status.in_(payments.PAID_STATES), *window.of(Payment.created_at)).group_by(Payment.kind))}
    refunds, refunds_fen = db.session.execute(
        select(func.count(), func.coalesce(func.sum(Refund.amount_fen), 0))
        .where(Refund.status == "succeeded", *window.of(Refund.created_at))).one()
    packs = dict(db.session.execute(select(CouponIssue.source, func.count()).where(
        *window.of(CouponIssue.created_at)).group_by(CouponIssue.source)).all())
    return {"payments": sum(count for count, _ in paid.values()), "payments_fen": sum(fen for _, fen in paid.values()),
            "payments_by_kind": {kind: {"payments": count, "payments_fen": fen}
                                 for kind, (count, fen) in sorted(paid.items())},
            "refunds": refunds, "refunds_fen": refunds_fen, "payment_packs": packs.get("payment", 0),
            "coupon_packs_by_source": dict(sorted(packs.items()))}


def mall(window: Window) -> dict:
    """Orders placed in the window and paid (points only: at once), their units, points and cash, by kind."""
    by_kind = {kind: {"orders": orders, "units": units, "points": points_, "cash_fen": cash}
               for kind, orders, units, points_, cash in db.session.execute(
                   select(MallOrder.kind, func.count(), func.sum(MallOrder.quantity), func.sum(MallOrder.points),
                          func.sum(MallOrder.amount_fen))
                   .where(MallOrder.paid_at.is_not(None), *window.of(MallOrder.created_at)).group_by(MallOrder.kind))}
    total = {name: sum(kind[name] for kind in by_kind.values()) for name in ("orders", "units", "points", "cash_fen")}
    return {"mall_orders": total["orders"], "mall_units": total["units"], "mall_points": total["points"],
            "mall_cash_fen": total["cash_fen"], "mall_by_kind": dict(sorted(by_kind.items()))}


def coupons(window: Window) -> dict:
    """Coupons issued and used in the window, and those whose validity ended in it unused (expired, or
    about to be by the hourly sweep; a coupon a payment holds waits for that payment)."""
    issued = db.session.scalar(select(func.count()).select_from(Coupon).where(*window.of(Coupon.issued_at)))
    used = db.session.scalar(select(func.count()).select_from(Coupon).where(*window.of(Coupon.used_at)))
    expired = db.session.scalar(select(func.count()).select_from(Coupon).where(
        Coupon.status.in_(("expired", "unused")), (Coupon.status == "expired") | Coupon.held_by.is_(None),
        *window.of(Coupon.valid_until)))
    return {"coupons_issued": issued, "coupons_used": used, "coupons_expired": expired}


def guides(window: Window) -> dict:
    """Members bound to a guide for the first time, in-store purchases the guides recorded and coupons they
    wrote off, in all and per store and per guide."""
    per_store, per_guide = defaultdict(Counter), defaultdict(Counter)

    def add(store_id, guide_id, **counts):
        per_store[str(store_id)].update(counts)
        per_guide[str(guide_id)].update(counts)

    for store_id, guide_id, count in db.session.execute(
            select(Guide.store_id, GuideBindingChange.to_guide_id, func.count())
            .join(Guide, Guide.id == GuideBindingChange.to_guide_id)
            .where(GuideBindingChange.from_guide_id.is_(None), *window.of(GuideBindingChange.created_at))
            .group_by(Guide.store_id, GuideBindingChange.to_guide_id)):
        add(store_id, guide_id, bindings=count)
    for store_id, guide_id, count, fen in db.session.execute(
            select(StorePurchase.store_id, StorePurchase.guide_id, func.count(), func.sum(StorePurchase.amount_fen))
            .where(*window.of(StorePurchase.created_at)).group_by(StorePurchase.store_id, StorePurchase.guide_id)):
        add(store_id, guide_id, purchases=count, purchases_fen=fen)
    for store_id, guide_id, count in db.session.execute(
            select(Guide.store_id, Guide.id, func.count()).select_from(Coupon)
            .join(Guide, Coupon.used_ref == literal("guide:") + cast(Guide.id, String))
            .where(*window.of(Coupon.used_at)).group_by(Guide.store_id, Guide.id)):
        add(store_id, guide_id, write_offs=count)
    total = Counter()
    for counts in per_store.values():
        total.update(counts)
    return {"guide_bindings": total["bindings"], "store_purchases": total["purchases"],
            "store_purchases_fen": total["purchases_fen"], "write_offs": total["write_offs"],
            "guides": {"stores": _filled(per_store), "guides": _filled(per_guide)}}


def _filled(counted: dict) -> dict:
    return {key: {name: counted[key][name] for name in GUIDE_FIGURES} for key in sorted(counted, key=int)}


def invitations(window: Window) -> dict:
    """Friends who joined through a member's card, qualified, and whose inviter was rewarded in the window
    (each by its own instant; a reward a refund took back later still counts on its day)."""
    def counted(column):
        return db.session.scalar(select(func.count()).select_from(Invitation).where(*window.of(column)))
    return {"invitations": counted(Invitation.joined_at), "invitations_qualified": counted(Invitation.qualified_at),
            "invitations_rewarded": counted(Invitation.rewarded_at)}
