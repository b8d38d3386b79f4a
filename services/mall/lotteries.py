"""Lotteries: operator CRUD, the member's view (odds, draws left today) and the draw itself."""
import secrets

from sqlalchemy import func, select, update

from models import Lottery, LotteryDraw, LotteryPrize, db
from services.coupons import catalog, coupons
from services.ledger import points
from services.mall import goods as catalogue
from services.mall import orders
from services.platform.lock_order import lock_member
from services.platform import audit_trail, clock
from services.platform.db import get_row, transaction
from services.platform.errors import Conflict, NotFound
from services import events


class LimitReached(Conflict):
    code = "limit_reached"


def create_lottery(operator, fields: dict) -> Lottery:
    """Add a lottery with its prizes (audited); a coupon prize hands out one coupon of its template."""
    with transaction():
        lottery = Lottery(name=fields["name"], cost_points=fields["cost_points"], daily_limit=fields["daily_limit"],
                          starts_at=fields.get("starts_at"), ends_at=fields.get("ends_at"), active=True,
                          created_at=clock.now())
        db.session.add(lottery)
        db.session.flush()
        for prize in fields["prizes"]:
            db.session.add(_prize(lottery.id, prize))
        audit_trail.record(operator.id, "lottery.create", target_type="lottery", target_id=lottery.id, reason=None,
                           details={"prizes": len(fields["prizes"])})
    return get_lottery(lottery.id)


def _prize(lottery_id: int, fields: dict) -> LotteryPrize:
    template_id = fields.get("coupon_template_id")
    if fields["kind"] == "coupon":
        pack_id = catalog.one_coupon_pack(template_id, name=f"抽奖：{fields['name']}").id
    else:
        template_id = pack_id = None
    goods_id = catalogue.get_goods(fields.get("goods_id") or 0).id if fields["kind"] == "goods" else None
    return LotteryPrize(lottery_id=lottery_id, name=fields["name"], kind=fields["kind"],
                        points=fields.get("points") or 0 if fields["kind"] == "points" else 0,
                        coupon_template_id=template_id, coupon_pack_id=pack_id, goods_id=goods_id,
                        weight=fields["weight"],
                        stock=fields.get("stock"), drawn=0)


def all_lotteries() -> list[Lottery]:
    return list(db.session.scalars(select(Lottery).order_by(Lottery.id)))


def get_lottery(lottery_id: int) -> Lottery:
    return get_row(Lottery, lottery_id, missing="No such lottery.")


def deactivate_lottery(operator, lottery_id: int) -> None:
    with transaction():
        get_lottery(lottery_id).active = False
        audit_trail.record(operator.id, "lottery.deactivate", target_type="lottery", target_id=lottery_id, reason=None)


def _open_lottery(lottery_id: int) -> Lottery:
    lottery = get_lottery(lottery_id)
    if not _is_open(lottery):
        raise NotFound("No such lottery open now.")
    return lottery


def _is_open(lottery: Lottery) -> bool:
    return lottery.active and clock.within(lottery.starts_at, lottery.ends_at)


def open_lotteries() -> list[Lottery]:
    """The lotteries a member may draw now."""
    return [lottery for lottery in db.session.scalars(select(Lottery).where(Lottery.active).order_by(Lottery.id))
            if _is_open(lottery)]


def member_view(member_id: int, lottery_id: int) -> dict:
    """The lottery as a member sees it: prizes with their odds now, and the draws left today."""
    lottery = _open_lottery(lottery_id)
    in_stock = [prize for prize in lottery.prizes if prize.stock is None or prize.stock > 0]
    total = sum(prize.weight for prize in in_stock)
    return {"id": lottery.id, "name": lottery.name, "cost_points": lottery.cost_points,
            "prizes": [{"id": prize.id, "name": prize.name, "kind": prize.kind, "points": prize.points,
                        "in_stock": prize in in_stock,
                        "odds": round(prize.weight / total, 6) if prize in in_stock and total else 0.0}
                       for prize in lottery.prizes],
            "draws_left_today": max(lottery.daily_limit - _draws_today(lottery.id, member_id), 0)}


def _draws_today(lottery_id: int, member_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(LotteryDraw).where(
        LotteryDraw.lottery_id == lottery_id, LotteryDraw.member_id == member_id, LotteryDraw.day == clock.today()))


def draw(member_id: int, lottery_id: int) -> dict:
    """Spend the cost, draw a prize among those in stock, pay it and record the draw: one transaction."""
    with transaction():
        lock_member(member_id).require_active()  # draws of one member wait here: the daily count holds
        lottery, today = _open_lottery(lottery_id), clock.today()
        done = _draws_today(lottery.id, member_id)
        if done >= lottery.daily_limit:
            raise LimitReached(f"{lottery.daily_limit} draws a day at most.", details={"daily_limit": lottery.daily_limit})
        key = f"draw:{lottery.id}:{member_id}:{today}:{done + 1}"
        points.spend(member_id, lottery.cost_points, reason="lottery", business_key=key, reference=f"lottery:{lottery.id}")
        prize, weights = _take_prize(lottery)
        codes, order_id = _pay_prize(member_id, prize, key) if prize else ([], None)
        db.session.add(LotteryDraw(lottery_id=lottery.id, member_id=member_id, prize_id=prize.id if prize else None,
                                   day=today, points_spent=lottery.cost_points, weights=weights, coupon_codes=codes,
                                   business_key=key, created_at=clock.now()))
        events.emit(member_id, "lottery_drawn", business_key=key, reference=f"lottery:{lottery.id}")
        shown = None if prize is None or prize.kind == "none" else {
            "id": prize.id, "name": prize.name, "kind": prize.kind, "points": prize.points, "coupons": codes,
            "order_id": order_id}
        return {"prize": shown, "points_spent": lottery.cost_points,
                "draws_left_today": lottery.daily_limit - done - 1}


def _take_prize(lottery: Lottery) -> tuple[LotteryPrize | None, dict]:
    """A prize drawn by weight among those in stock, its stock taken (a conditional update: a prize whose
    last one went meanwhile is drawn around); the weights it was drawn from."""
    prizes = list(db.session.scalars(select(LotteryPrize).where(
        LotteryPrize.lottery_id == lottery.id, (LotteryPrize.stock.is_(None)) | (LotteryPrize.stock > 0))
        .order_by(LotteryPrize.id)))
    weights = {str(prize.id): prize.weight for prize in prizes}
    while prizes:
        pick = secrets.randbelow(sum(prize.weight for prize in prizes))
        for prize in prizes:
            pick -= prize.weight
            if pick < 0:
                break
        taken = _move_prize(prize, -1)
        if taken and (prize.kind != "goods" or _goods_left(prize)):
            return prize, weights
        if taken:  # its goods sold out in the mall meanwhile: put the prize back, draw around it
            _move_prize(prize, +1)
        prizes.remove(prize)
    return None, weights


def _move_prize(prize: LotteryPrize, change: int) -> bool:
    moved = db.session.execute(update(LotteryPrize).where(
        LotteryPrize.id == prize.id, (LotteryPrize.stock.is_(None)) | (LotteryPrize.stock + change >= 0)).values(
        stock=LotteryPrize.stock + change, drawn=LotteryPrize.drawn - change).execution_options(synchronize_session=False))
    return moved.rowcount == 1


def _goods_left(prize: LotteryPrize) -> bool:
    try:
        catalogue.take(prize.goods_id, 1, reserve=False)
    except catalogue.OutOfStock:
        return False
    return True


def _pay_prize(member_id: int, prize: LotteryPrize, key: str) -> tuple[list[str], int | None]:
    """Pay a drawn prize; (the coupons it handed out, the mall order of a goods prize)."""
    if prize.kind == "points" and prize.points:
        points.earn(member_id, prize.points, reason="lottery_prize", business_key=f"{key}:prize",
                    reference=f"lottery_prize:{prize.id}")
    if prize.kind == "goods":
        return [], orders.award_prize(member_id, prize.goods_id).id
    if prize.kind == "coupon":
        return [coupon.code for coupon in coupons.issue_pack(
            member_id, prize.coupon_pack_id, source="mall", business_key=f"{key}:prize",
            source_ref=f"lottery:{prize.id}")], None
    return [], None


def audit_problems() -> list[str]:
    """Every prize's stock never below zero, and drawn as often as the draws say."""
    counted = select(LotteryDraw.prize_id.label("k"), func.count().label("n")).group_by(LotteryDraw.prize_id).subquery()
    return [f"lottery prize {prize_id}: drawn {drawn} but {found} draws record it"
            for prize_id, drawn, found in db.session.execute(
                select(LotteryPrize.id, LotteryPrize.drawn, func.coalesce(counted.c.n, 0))
                .outerjoin(counted, counted.c.k == LotteryPrize.id)
                .where(LotteryPrize.drawn != func.coalesce(counted.c.n, 0)))]
