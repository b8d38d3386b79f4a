"""Coupons: issue packs, hold a coupon for a payment, use / release / revoke / expire.

The functions other areas call (issue_pack, issue_whole_pack, hold_for_payment, use_held, release_held,
revoke_unused, any_used, expire_due, redeem) only flush: the caller's transaction commits. The operator's hand-out owns its
own. Templates and packs themselves are kept in services/coupons/catalog.py.
"""
import secrets
from datetime import timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from models import Operator, db
from models.coupon import COUPON_SOURCES, Coupon, CouponIssue, CouponPack, CouponTemplate
from services.platform.lock_order import lock_member
from services.platform import audit_trail, business_keys, clock
from services.platform.db import get_row, lock_one, lock_row, transaction
from services.platform.errors import Conflict, NotFound
from services.platform.pagination import page
from services import events

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O or 1/I: codes get read out and typed in
CODE_LENGTH = 16  # 80 random bits


class CouponNotUsable(Conflict):
    code = "coupon_not_usable"

    def __init__(self, reason: str):
        super().__init__(f"This coupon cannot be used ({reason.replace('_', ' ')}).", details={"reason": reason})


# -- issuing -------------------------------------------------------------------------------------

def issue_pack(member_id: int, pack_id: int, *, source: str, business_key: str,
               source_ref: str | None = None) -> list[Coupon]:
    """Hand a pack to a member once per business key; templates out of stock or at the limit are skipped."""
    return _issue(member_id, pack_id, source=source, business_key=business_key, source_ref=source_ref)[1]


def issue_whole_pack(member_id: int, pack_id: int, *, source: str, business_key: str,
                     source_ref: str | None = None) -> list[Coupon]:
    """issue_pack for coupons that were paid for: all of the pack, or a 409 (`out_of_stock`,
    `limit_reached`…) with the caller's transaction to roll back."""
    _, coupons, skipped = _issue(member_id, pack_id, source=source, business_key=business_key, source_ref=source_ref)
    if skipped:
        raise Conflict("The coupon cannot be issued now.", code=skipped[0]["reason"], details={"skipped": skipped})
    return coupons


def _issue(member_id, pack_id, *, source, business_key, source_ref):
    """(the issue, the coupons it handed out, what it skipped and why)."""
    if source not in COUPON_SOURCES or len(business_key) > 160:
        raise ValueError("unknown coupon source or business key too long")
    pack = get_row(CouponPack, pack_id, missing="No such coupon pack.")
    lock_member(member_id).require_active()  # a frozen member earns no coupons either
    issue, fresh = _claim(business_key, member_id=member_id, pack_id=pack_id, source=source, source_ref=source_ref)
    if not fresh:
        issued = db.session.scalars(select(Coupon).where(Coupon.issue_id == issue.id).order_by(Coupon.id))
        return issue, list(issued), []
    if not pack.active:
        return issue, [], [{"template_id": None, "reason": "pack_inactive"}]
    coupons, skipped = [], []
    for item in sorted(pack.items, key=lambda row: row.template_id):  # locks in id order
        for n in range(item.quantity):
            template = lock_template(item.template_id)
            if reason := _refusal(template, member_id) or _take_stock(template):
                skipped.append({"template_id": template.id, "reason": reason})
                break
            coupons.append(_new_coupon(issue, template, n))
    return issue, coupons, skipped


def _claim(business_key: str, **fields) -> tuple[CouponIssue, bool]:
    """The issue recorded under the key, and whether this call created it."""
    if issue := _issue_under(business_key, fields):
        return issue, False
    issue = CouponIssue(business_key=business_key, created_at=clock.now(), **fields)
    try:
        with db.session.begin_nested():
            db.session.add(issue)
    except IntegrityError:  # a parallel call with the same key committed first
        return _issue_under(business_key, fields), False
    return issue, True


def _issue_under(business_key: str, fields: dict) -> CouponIssue | None:
    issue = db.session.scalar(select(CouponIssue).where(CouponIssue.business_key == business_key))
    if issue is not None and (issue.member_id, issue.pack_id) != (fields["member_id"], fields["pack_id"]):
        raise business_keys.key_conflict(business_key)
    return issue


def lock_template(template_id: int) -> CouponTemplate:
    return lock_row(CouponTemplate, template_id)


def _refusal(template: CouponTemplate, member_id: int) -> str | None:
    if not template.active:
        return "template_inactive"
    if template.valid_until is not None and template.valid_until <= clock.now():
        return "template_ended"
    if template.per_member_limit is not None:
        # counted under the template's row lock, so parallel issues to one member cannot both pass
        held = db.session.scalar(select(func.count()).select_from(Coupon).where(
            Coupon.member_id == member_id, Coupon.template_id == template.id, Coupon.status != "revoked"))
        if held >= template.per_member_limit:
            return "limit_reached"
    return None


def _take_stock(template: CouponTemplate) -> str | None:
    taken = db.session.execute(
        update(CouponTemplate)
        .where(CouponTemplate.id == template.id,
               or_(CouponTemplate.total_stock.is_(None), CouponTemplate.issued < CouponTemplate.total_stock))
        .values(issued=CouponTemplate.issued + 1).execution_options(synchronize_session=False))
    return None if taken.rowcount == 1 else "out_of_stock"


def _new_coupon(issue: CouponIssue, template: CouponTemplate, n: int) -> Coupon:
    now = clock.now()
    if template.valid_days:
        start, end = now, now + timedelta(days=template.valid_days)
    else:
        start, end = template.valid_from, template.valid_until
    coupon = Coupon(code="".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH)),
                    template_id=template.id, member_id=issue.member_id, issue_id=issue.id, status="unused",
                    source=issue.source, source_ref=issue.source_ref,
                    business_key=f"{issue.business_key}:{template.id}:{n}", issued_at=now,
                    valid_from=start, valid_until=end)
    db.session.add(coupon)
    db.session.flush()
    return coupon


# -- using ---------------------------------------------------------------------------------------

def hold_for_payment(member_id: int, code: str, *, amount_fen: int, channel: str, holder: str, permit=None) -> int:
    """Hold the member's coupon for a pending payment; returns its discount in fen. `permit(coupon)` raises
    when this payment may not use it (checked under the coupon's lock)."""
    if not isinstance(amount_fen, int) or amount_fen <= 0 or channel not in ("online", "store"):
        raise ValueError("amount_fen is a positive integer, channel 'online' or 'store'")
    coupon = _lock_coupon(code)
    if coupon is None or coupon.member_id != member_id:
        raise NotFound("No such coupon.")
    if permit is not None:
        permit(coupon)
    template = coupon.template
    reason = _unusable(coupon, channel=channel, holder=holder)
    if reason is None and amount_fen < template.min_spend_fen:
        reason = "min_spend"
    if reason is None and template.kind == "gift":
        reason = "gift"  # gifts are handed over at the counter, not taken off a payment
    if reason:
        raise CouponNotUsable(reason)
    coupon.held_by = holder
    db.session.flush()
    return discount_for(template, amount_fen)


def discount_for(template: CouponTemplate, amount_fen: int) -> int:
    """What the template takes off `amount_fen`, always leaving at least 1 fen to pay."""
    if template.kind == "cash_off":
        return max(0, min(template.amount_fen, amount_fen - 1))
    if template.kind == "discount":
        payable = (amount_fen * template.discount_pct + 99) // 100  # the member pays the rounded-up part
        return amount_fen - payable
    return 0


def use_held(holder: str, *, used_ref: str) -> int:
    """Mark every coupon `holder` holds as used; repeatable. Returns how many it used."""
    held = db.session.execute(select(Coupon.member_id, Coupon.code).where(
        Coupon.held_by == holder, Coupon.status == "unused")).all()
    used = _update_unused(Coupon.held_by == holder, status="used", used_at=clock.now(), used_ref=used_ref)
    for member_id, code in held:
        _used(member_id, code, used_ref)
    return used


def _used(member_id: int, code: str, used_ref: str) -> None:
    events.emit(member_id, "coupon_used", business_key=f"coupon_used:{code}", reference=used_ref[:128])


def release_held(holder: str) -> int:
    """Give back the coupons `holder` holds (payment closed unpaid); repeatable."""
    return _update_unused(Coupon.held_by == holder)


def revoke_unused(source_ref: str, *, reason: str) -> int:
    """Revoke the unused coupons issued for `source_ref` (e.g. a refunded payment); repeatable. A coupon
    another payment holds is left to that payment: its hold ends in use or release, never here."""
    return _update_unused((Coupon.source_ref == source_ref) & Coupon.held_by.is_(None), status="revoked",
                          revoked_at=clock.now(), revoke_reason=reason[:64])


def any_used(codes: list[str]) -> bool:
    return db.session.scalar(select(func.count()).select_from(Coupon).where(
        Coupon.code.in_(codes), Coupon.status == "used")) > 0


def expire_due(batch: int = 500) -> int:
    """Expire up to `batch` unused coupons past their validity; run until it returns 0. A held coupon
    waits for its payment (held while valid, it may still be used; released, it expires next time)."""
    due = list(db.session.scalars(select(Coupon.id).where(
        Coupon.status == "unused", Coupon.held_by.is_(None), Coupon.valid_until <= clock.now())
        .order_by(Coupon.id).limit(batch)))
    return _update_unused(Coupon.id.in_(due) & Coupon.held_by.is_(None), status="expired") if due else 0


def expire_all_due() -> int:
    """Expire every due coupon, a batch per transaction; how many."""
    total = 0
    while True:
        with transaction():
            count = expire_due()
        if not count:
            return total
        total += count


def redeem(code: str, *, used_ref: str, permit=None) -> Coupon:
    """Write a coupon off at the store counter; `permit(coupon)` raises when this caller may not, checked
    under the coupon's lock before its state is told."""
    coupon = _lock_coupon(code)
    if coupon is None:
        raise NotFound("No such coupon.")
    if permit is not None:
        permit(coupon)
    if reason := _unusable(coupon, channel="store", holder=None):
        raise CouponNotUsable(reason)
    coupon.status, coupon.used_at, coupon.used_ref = "used", clock.now(), used_ref
    db.session.flush()
    _used(coupon.member_id, coupon.code, used_ref)
    return coupon


def _lock_coupon(code: str) -> Coupon | None:
    code = code.strip().upper()
    if len(code) != CODE_LENGTH:
        return None
    return lock_one(select(Coupon).where(Coupon.code == code), of=Coupon)


def _unusable(coupon: Coupon, *, channel: str, holder: str | None) -> str | None:
    now = clock.now()
    if coupon.status != "unused":
        return coupon.status
    if coupon.held_by not in (None, holder):
        return "held"
    if now < coupon.valid_from:
        return "not_yet_valid"
    if now >= coupon.valid_until:
        return "expired"
    if coupon.template.channel not in ("all", channel):
        return "wrong_channel"
    return None


def _update_unused(condition, **values) -> int:
    """Change unused coupons matching `condition` (releasing any hold); the status check makes it repeatable."""
    result = db.session.execute(update(Coupon).where(condition, Coupon.status == "unused")
                                .values(held_by=None, **values).execution_options(synchronize_session="fetch"))
    return result.rowcount


# -- reads ---------------------------------------------------------------------------------------

def shown_status(coupon: Coupon) -> str:
    """The status a member sees: an unused coupon past its validity is expired before the sweep runs."""
    if coupon.status == "unused" and coupon.valid_until <= clock.now():
        return "expired"
    return coupon.status


def find_coupons(member_id: int, *, status: str | None, limit: int, cursor: str | None) -> dict:
    """The member's coupons, newest first, by the status the member sees."""
    stmt, now = select(Coupon).where(Coupon.member_id == member_id), clock.now()
    if status == "unused":
        stmt = stmt.where(Coupon.status == "unused", Coupon.valid_until > now)
    elif status == "expired":
        stmt = stmt.where(or_(Coupon.status == "expired", (Coupon.status == "unused") & (Coupon.valid_until <= now)))
    elif status:
        stmt = stmt.where(Coupon.status == status)
    return page(db.session, stmt, id_column=Coupon.id, limit=limit, cursor=cursor)


# -- operators -----------------------------------------------------------------------------------

def issue_pack_by_operator(operator: Operator, member_id: int, pack_id: int, *, reason: str,
                           request_key: str) -> list[Coupon]:
    """Hand a pack to a member by hand, audited; a 409 when every template was skipped."""
    business_key = f"admin-pack:{operator.id}:{request_key}"
    with transaction():
        issue, coupons, skipped = _issue(member_id, pack_id, source="operator", business_key=business_key,
                                         source_ref=f"operator:{operator.id}")
        if skipped and not coupons:
            raise Conflict("Nothing in the pack could be issued.", code=skipped[0]["reason"],
                           details={"skipped": skipped})
        audit_trail.record_once(operator.id, "coupons.issue_pack", target_type="coupon_issue", target_id=issue.id,
                              reason=reason, details={"member_id": member_id, "pack_id": pack_id, "skipped": skipped,
                                                      "coupons": [coupon.code for coupon in coupons]})
    return coupons


def missing(what: str):
    raise NotFound(f"No such {what}.")

