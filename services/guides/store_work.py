"""What a guide does in the store: scan a member's code, record an in-store receipt, write a coupon
off, and look at their members and results."""
from collections import defaultdict
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from models import Guide, GuideBinding, GuideBindingChange, GuideScan, Member, StorePurchase, db
from models.coupon import Coupon, CouponTemplate
from models.guide import GUIDE_METRICS
from services.coupons import coupons
from services.guides import bindings, member_codes
from services.ledger import earnings, points
from services.payments import rules
from services.levels import levels
from services.platform.lock_order import lock_member
from services.platform import clock, ratelimit
from services.platform.db import insert_once, transaction
from services.platform.errors import Conflict, Forbidden, InvalidRequest, NotFound
from services.platform.pagination import page

SCANS_PER_GUIDE, SCAN_WINDOW = 30, 60  # codes a guide may scan a minute: guessing finds nobody
SCAN_VALID_MINUTES = 30  # a member scanned this recently is at the counter: receipts, write-offs
MAX_STATS_DAYS = 92


def scan(guide: Guide, code: str) -> dict:
    """The member behind a code shown now (the code used up); an unbound member gets this guide. The
    member card: level, points, usable store coupons, the exclusive guide."""
    ratelimit.check("guide-scan", str(guide.id), limit=SCANS_PER_GUIDE, window=SCAN_WINDOW)
    with transaction():
        member_id = member_codes.use(code)
        db.session.add(GuideScan(guide_id=guide.id, member_id=member_id, scanned_at=clock.now()))
        guide_id = bindings.bind(member_id, guide, "member_code").guide_id  # read before the commit expires it
    return member_card(member_id, guide_id, guide.store_id)


def member_card(member_id: int, guide_id: int | None, store_id: int) -> dict:
    member = db.session.get(Member, member_id)
    level = levels.ladder().get(member.level_id)
    return {"member": {"id": member.id, "nickname": member.nickname, "avatar_url": member.avatar_url,
                       "level": {"code": level.code, "name": level.name} if level else None,
                       "points": points.summary(member_id, expiring_limit=0)["available"]},
            "coupons": _store_coupons(member_id, store_id),
            "guide_id": guide_id}


def _store_coupons(member_id: int, store_id: int) -> list[Coupon]:
    now = clock.now()
    found = list(db.session.scalars(select(Coupon).join(CouponTemplate, CouponTemplate.id == Coupon.template_id).where(
        Coupon.member_id == member_id, Coupon.status == "unused", Coupon.held_by.is_(None), Coupon.valid_from <= now,
        Coupon.valid_until > now, CouponTemplate.channel.in_(("all", "store"))).order_by(Coupon.valid_until).limit(50)))
    only_at = rules.coupon_stores(found)
    return [coupon for coupon in found if only_at.get(coupon.id, store_id) == store_id]


def _scanned_recently(guide: Guide, member_id: int) -> bool:
    """The guide scanned the member's rotating code a moment ago: the member is at the counter."""
    return db.session.scalar(select(GuideScan.id).where(
        GuideScan.guide_id == guide.id, GuideScan.member_id == member_id,
        GuideScan.scanned_at >= clock.now() - timedelta(minutes=SCAN_VALID_MINUTES)).limit(1)) is not None


def _require_own_or_scanned(guide: Guide, member_id: int) -> None:
    """A guide works for their own members, and for a member they scanned a moment ago."""
    own = db.session.scalar(select(GuideBinding.id).where(GuideBinding.member_id == member_id,
                                                          GuideBinding.guide_id == guide.id))
    if not (own or _scanned_recently(guide, member_id)):
        raise NotFound("No such member of yours: scan their code first.")


def record_purchase(guide: Guide, member_id: int, *, amount_fen: int, receipt_no: str) -> dict:
    """Points and growth for an in-store receipt, through the ledgers, once per store and receipt
    number: the same receipt again answers the first result and changes nothing."""
    if amount_fen > current_app.config["GUIDE_RECEIPT_MAX_FEN"]:
        raise InvalidRequest("That is more than one receipt may carry.", status=422,
                             details={"amount_fen": [f"At most {current_app.config['GUIDE_RECEIPT_MAX_FEN']}."]})
    _require_own_or_scanned(guide, member_id)
    with transaction():
        locked = lock_member(member_id)
        locked.require_active()
        earned_points, earned_growth = levels.purchase_rewards(locked.level_id, amount_fen)
        purchase_id = insert_once(StorePurchase.__table__, key=None, store_id=guide.store_id, guide_id=guide.id,
                                  member_id=member_id, receipt_no=receipt_no, amount_fen=amount_fen,
                                  points=earned_points, growth=earned_growth, created_at=clock.now())
        if purchase_id is None:
            return _recorded(guide.store_id, receipt_no, member_id, amount_fen)
        key, ref = f"receipt:{guide.store_id}:{receipt_no}", f"store_purchase:{purchase_id}"
        earnings.earn(member_id, points_=earned_points, growth_=earned_growth, reason="store_purchase",
                      business_key=key, reference=ref)
    return {"points": earned_points, "growth": earned_growth, "receipt_no": receipt_no}


def _recorded(store_id: int, receipt_no: str, member_id: int, amount_fen: int) -> dict:
    first = db.session.scalar(select(StorePurchase).where(StorePurchase.store_id == store_id,
                                                          StorePurchase.receipt_no == receipt_no))
    if (first.member_id, first.amount_fen) != (member_id, amount_fen):
        raise Conflict("That receipt was recorded for another member or amount.", code="receipt_used",
                       details={"receipt_no": receipt_no})
    return {"points": first.points, "growth": first.growth, "receipt_no": receipt_no}


def redeem_coupon(guide: Guide, code: str) -> Coupon:
    """Write a store coupon off once (the coupon's row lock decides between parallel write-offs), for a
    member at the counter (403), at a store the coupon may be used in (403), while usable in store (409)."""
    with transaction():
        return coupons.redeem(code, used_ref=f"guide:{guide.id}", permit=lambda coupon: _may_write_off(guide, coupon))


def _may_write_off(guide: Guide, coupon: Coupon) -> None:
    # The coupon's own code is no proof of presence: it never changes, the member card shows it to every
    # guide who scanned the member once, and a screenshot carries it anywhere. The member code does.
    if not _scanned_recently(guide, coupon.member_id):
        raise Forbidden("Scan the member's code first: a coupon is written off with its member at the counter.",
                        details={"reason": "member_not_present"})
    store_id = rules.coupon_stores([coupon]).get(coupon.id, guide.store_id)
    if store_id != guide.store_id:
        raise Forbidden("This coupon is written off only at the store that gave it.",
                        details={"reason": "other_store", "store_id": store_id})


def my_members(guide: Guide, *, q: str | None, limit: int, cursor: str | None) -> dict:
    """The guide's own members, newest binding first; `q`: the end of their phone number."""
    stmt = select(GuideBinding).where(GuideBinding.guide_id == guide.id)
    if q:
        stmt = stmt.join(Member, Member.id == GuideBinding.member_id).where(Member.phone.like(f"%{q}"))
    found = page(db.session, stmt, id_column=GuideBinding.id, limit=limit, cursor=cursor)
    members = {member.id: member for member in db.session.scalars(select(Member).where(
        Member.id.in_([binding.member_id for binding in found["items"]])))}
    return {**found, "items": [{"member": members[binding.member_id], "how": binding.how, "bound_at": binding.bound_at}
                               for binding in found["items"]]}


def stats(guide: Guide, *, since: date, until: date) -> dict:
    """Per business day from `since` to `until`: members bound, in-store purchases and their amount,
    coupons written off."""
    if until < since or (until - since).days >= MAX_STATS_DAYS:
        raise InvalidRequest(f"Ask for 1 to {MAX_STATS_DAYS} days, `to` not before `from`.")
    days = results_by_day(guide, clock.start_of_day(since), clock.start_of_day(until + timedelta(days=1)))
    every_day = [since + timedelta(days=n) for n in range((until - since).days + 1)]
    rows = [{"day": day, **days[day]} for day in every_day]
    return {"from": since, "to": until, "days": rows, "totals": totals(rows),
            "members": db.session.scalar(select(func.count()).select_from(GuideBinding).where(
                GuideBinding.guide_id == guide.id))}


def totals(rows) -> dict:
    return {name: sum(row[name] for row in rows) for name in GUIDE_METRICS}


def results_by_day(guide: Guide, start: datetime, end: datetime) -> dict:
    """The guide's results between two instants, by business day: members bound (bindings and
    transfers to them), in-store purchases and their amount, coupons written off."""
    days = defaultdict(lambda: dict.fromkeys(GUIDE_METRICS, 0))
    for (at,) in db.session.execute(select(GuideBindingChange.created_at).where(
            GuideBindingChange.to_guide_id == guide.id, GuideBindingChange.created_at >= start,
            GuideBindingChange.created_at < end)):
        days[_day(at)]["members_bound"] += 1
    for at, amount in db.session.execute(select(StorePurchase.created_at, StorePurchase.amount_fen).where(
            StorePurchase.guide_id == guide.id, StorePurchase.created_at >= start, StorePurchase.created_at < end)):
        days[_day(at)]["purchases"] += 1
        days[_day(at)]["amount_fen"] += amount
    for (at,) in db.session.execute(select(Coupon.used_at).where(
            Coupon.used_ref == f"guide:{guide.id}", Coupon.used_at >= start, Coupon.used_at < end)):
        days[_day(at)]["coupons_redeemed"] += 1
    return days


def _day(at: datetime) -> date:
    return clock.local(at).date()
