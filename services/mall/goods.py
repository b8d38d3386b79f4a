"""The mall's goods: operator CRUD (audited), virtual codes uploaded as CSV, what a member is shown,
and the stock movements orders make.

Stock moves only by conditional updates that can never take it below zero; the three counts always
add up to the goods' total (a database check): stock (for sale), reserved (unpaid orders), sold.
"""
import csv
import functools
import io

from sqlalchemy import bindparam, func, or_, select, update

from models import Goods, Level, MallOrder, VirtualCode, db
from models.mall import LIVE_ORDER_STATUSES
from services.coupons import catalog
from services.ledger import points
from services.levels import levels
from services.members import cards
from services.mall import sold_out
from services.platform import audit_trail, clock, round_trips
from services.platform.db import get_row, lock_row, transaction
from services.platform.errors import Conflict, InvalidRequest, NotFound
from services.platform.pagination import before_id, page, page_of

EDITABLE = ("name", "description", "images", "category", "price_points", "price_fen", "per_order_limit",
            "per_member_limit", "min_level_id", "level_discount", "starts_at", "ends_at", "status")
MAX_CODES_PER_UPLOAD = 10_000
MAX_CODES_CHARS = 2_000_000  # the CSV of one upload
# what a member's units of one goods count against its per-member limit: every order not given back
COUNTED_STATUSES = ("pending_payment", *LIVE_ORDER_STATUSES)


class OutOfStock(Conflict):
    code = "out_of_stock"
    message = "Out of stock."


# -- operators -----------------------------------------------------------------------------------

def create_goods(operator, fields: dict) -> Goods:
    """Add goods (audited). A coupon goods hands out one coupon of its template per unit; a virtual
    goods' stock is the codes uploaded for it."""
    with transaction():
        now = clock.now()
        goods = Goods(kind=fields["kind"], created_at=now, updated_at=now, total=0, stock=0, reserved=0, sold=0,
                      **{name: fields[name] for name in EDITABLE if name in fields})
        _check(goods)
        if goods.kind == "coupon":
            goods.coupon_template_id = fields.get("coupon_template_id")
            goods.coupon_pack_id = catalog.one_coupon_pack(goods.coupon_template_id,
                                                                  name=f"积分商城：{goods.name}").id
        db.session.add(goods)
        db.session.flush()
        if fields.get("stock"):
            _restock(goods, fields["stock"])
        audit_trail.record(operator.id, "goods.create", target_type="goods", target_id=goods.id, reason=None,
                           details={"kind": goods.kind, "stock": goods.stock})
    return goods


def update_goods(operator, goods_id: int, fields: dict) -> Goods:
    """Change goods (audited); a new stock is what is for sale from now on (orders keep theirs)."""
    with transaction():
        goods = _lock(goods_id)
        for name in EDITABLE:
            if name in fields:
                setattr(goods, name, fields[name])
        _check(goods)
        if "stock" in fields:
            _restock(goods, fields["stock"] - goods.stock)
        goods.updated_at = clock.now()
        audit_trail.record(operator.id, "goods.update", target_type="goods", target_id=goods.id, reason=None,
                           details={name: _shown(value) for name, value in fields.items()})
    return goods


def _shown(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def _check(goods: Goods) -> None:
    if goods.price_points + goods.price_fen <= 0:
        raise InvalidRequest("Goods cost points, cash or both.", status=422,
                             details={"price_points": ["price_points + price_fen must be above 0."]})
    if goods.starts_at and goods.ends_at and goods.ends_at <= goods.starts_at:
        raise InvalidRequest("The sale must end after it starts.", status=422,
                             details={"ends_at": ["Must be after starts_at."]})
    # Not flushed first: changed goods naming an unknown level would fail on the foreign key (a 500).
    with db.session.no_autoflush:
        if goods.min_level_id is not None and db.session.get(Level, goods.min_level_id) is None:
            raise InvalidRequest("No such level.", status=422, details={"min_level_id": ["No such level."]})


def _restock(goods: Goods, delta: int) -> None:
    """Add (or take away) units for sale; a virtual goods' stock comes from its codes only."""
    if goods.kind == "virtual" and delta:
        raise InvalidRequest("A virtual goods' stock is its codes: upload them.", status=422,
                             details={"stock": ["Upload codes to /admin/goods/{id}/codes."]})
    if goods.stock + delta < 0:
        raise InvalidRequest("Stock cannot go below zero.", status=422, details={"stock": ["Must be at least 0."]})
    goods.stock += delta
    goods.total += delta
    if goods.id is None:  # new goods: no mark yet
        return
    if delta > 0:
        sold_out.put_back(goods.id)
    elif delta < 0:
        sold_out.taken(goods.id, goods.stock)


def add_codes(operator, goods_id: int, text: str) -> dict:
    """Add a virtual goods' codes from CSV (the first column of each row; a header row `code` and
    codes it already has are skipped; at most MAX_CODES_CHARS characters); each new code is one more
    unit in stock (audited)."""
    if len(text) > MAX_CODES_CHARS:
        raise InvalidRequest(f"At most {MAX_CODES_CHARS} characters.")
    codes = _codes_in(text)
    with transaction():
        goods = _lock(goods_id)
        if goods.kind != "virtual":
            raise InvalidRequest("Only virtual goods have codes.", status=422)
        known = set(db.session.scalars(select(VirtualCode.code).where(
            VirtualCode.goods_id == goods.id, VirtualCode.code.in_(codes)))) if codes else set()
        fresh = [code for code in codes if code not in known]
        now = clock.now()
        db.session.add_all(VirtualCode(goods_id=goods.id, code=code, status="available", created_at=now)
                           for code in fresh)
        goods.stock += len(fresh)
        goods.total += len(fresh)
        goods.updated_at = now
        if fresh:
            sold_out.put_back(goods.id)
        audit_trail.record(operator.id, "goods.add_codes", target_type="goods", target_id=goods.id, reason=None,
                           details={"added": len(fresh), "skipped": len(codes) - len(fresh)})
    return {"added": len(fresh), "skipped": len(codes) - len(fresh), "stock": goods.stock}


def _codes_in(text: str) -> list[str]:
    codes, seen = [], set()
    for row in csv.reader(io.StringIO(text)):
        code = row[0].strip() if row else ""
        if not code or code.lower() == "code" or code in seen:
            continue
        if len(code) > 128 or not code.isprintable():
            raise InvalidRequest("A code has at most 128 printable characters.", details={"code": [code[:40]]})
        seen.add(code)
        codes.append(code)
    if len(codes) > MAX_CODES_PER_UPLOAD:
        raise InvalidRequest(f"At most {MAX_CODES_PER_UPLOAD} codes per upload.")
    return codes


def get_goods(goods_id: int) -> Goods:
    return get_row(Goods, goods_id, missing="No such goods.")


def get_goods_on_sale(goods_id: int) -> Goods:
    """Goods a member may see: on sale now (anything else is not found)."""
    goods = db.session.get(Goods, goods_id)
    if goods is None or not on_sale(goods):
        raise NotFound("No such goods on sale.")
    return goods


def find_goods(*, category: str | None, limit: int, cursor: str | None) -> dict:
    """Every goods (an operator's list), newest first, optionally of one category."""
    stmt = select(Goods)
    if category:
        stmt = stmt.where(Goods.category == category)
    return page(db.session, stmt, id_column=Goods.id, limit=limit, cursor=cursor)


def _lock(goods_id: int) -> Goods:
    return lock_row(Goods, goods_id, missing="No such goods.")


# -- what a member sees --------------------------------------------------------------------------

def on_sale(goods: Goods) -> bool:
    return goods.status == "on_sale" and clock.within(goods.starts_at, goods.ends_at)


def locked_by_level(goods: Goods, level_id: int | None) -> bool:
    """Whether a member of level_id is below the goods' minimum level (from the process's copy of levels)."""
    if goods.min_level_id is None:
        return False
    ladder = levels.ladder()
    needed, held = ladder.get(goods.min_level_id), ladder.get(level_id)
    return needed is not None and (held is None or held.threshold < needed.threshold)


def cash_fen(goods: Goods, quantity: int, discount_pct: int) -> int:
    """The cash part for `quantity` units after the level's discount (percent of the price paid); at
    least 1 fen when the goods cost cash at all."""
    full = goods.price_fen * quantity
    if not full or not goods.level_discount:
        return full
    return max(full * discount_pct // 100, 1)


def on_sale_page(claims, *, category: str | None, limit: int, cursor: str | None) -> dict:
    """A page of the goods on sale now, newest first, optionally of one category, as the member whose
    token's `claims` these are sees them (None: a visitor): one round trip for the member's card (their
    token checked), the goods, their points and the units they ordered."""
    now, before = clock.now(), before_id(cursor)
    reads = [round_trips.Read(((_on_sale_statement(bool(category), before is not None),
                                {"now": now, "category": category, "before": before, "limit": limit + 1}),),
                              lambda rows: page_of(rows, limit))]
    if claims is not None:
        reads += [cards.checked_read(claims.id, claims.version), points.summary_read(claims.id, expiring_limit=0),
                  round_trips.Read(((_ORDERED_BY_MEMBER, {"member": claims.id}),), dict)]
    found, *mine = round_trips.read(*reads)
    if claims is None:
        return {**found, "items": [_goods_view(goods) for goods in found["items"]]}
    card, figures, ordered = mine
    return {**found, "items": _views(found["items"], card.level_id, figures["available"], ordered)}


@functools.cache
def _on_sale_statement(of_category: bool, after_cursor: bool):
    goods = Goods.__table__
    stmt = select(goods).where(goods.c.status == "on_sale",
                               goods.c.starts_at.is_(None) | (goods.c.starts_at <= bindparam("now")),
                               goods.c.ends_at.is_(None) | (goods.c.ends_at > bindparam("now")))
    if of_category:
        stmt = stmt.where(goods.c.category == bindparam("category"))
    if after_cursor:
        stmt = stmt.where(goods.c.id < bindparam("before"))
    return stmt.order_by(goods.c.id.desc()).limit(bindparam("limit"))


def member_view(items: list[Goods], member) -> list[dict]:
    """Goods as a signed-in member sees them: the cash after their level's discount, whether they can
    afford them, reach the level, and how many more they may order. A few statements for the page."""
    if member is None:
        return [_goods_view(goods) for goods in items]
    available = points.summary(member.id, expiring_limit=0)["available"]
    ordered = units_ordered(member.id, [goods.id for goods in items if goods.per_member_limit])
    return _views(items, member.level_id, available, ordered)


def _views(items: list, level_id: int | None, available: int, ordered: dict[int, int]) -> list[dict]:
    level = levels.ladder().get(level_id)
    discount = level.mall_discount_pct if level else 100
    views = []
    for goods in items:
        left = None if goods.per_member_limit is None else max(goods.per_member_limit - ordered.get(goods.id, 0), 0)
        views.append({**_goods_view(goods), "member_price_fen": cash_fen(goods, 1, discount),
                      "affordable": available >= goods.price_points,
                      "locked_by_level": locked_by_level(goods, level_id), "limit_left": left})
    return views


def _goods_view(goods: Goods) -> dict:
    return {"goods": goods, "on_sale": on_sale(goods), "min_level": _level_code(goods.min_level_id)}


def _level_code(level_id: int | None) -> str | None:
    level = levels.ladder().get(level_id)
    return level.code if level else None


_orders = MallOrder.__table__
_ORDERED_BY_MEMBER = (select(_orders.c.goods_id, func.sum(_orders.c.quantity))
                      .where(_orders.c.member_id == bindparam("member"),
                             # not IN (…): a prebuilt statement is sent as it is compiled, without expanding
                             or_(*(_orders.c.status == status for status in COUNTED_STATUSES)))
                      .group_by(_orders.c.goods_id))


def units_ordered(member_id: int, goods_ids: list[int]) -> dict[int, int]:
    """Units of each goods the member has ordered and not been given back (cancelled, refunded)."""
    if not goods_ids:
        return {}
    return dict(db.session.execute(
        select(MallOrder.goods_id, func.sum(MallOrder.quantity))
        .where(MallOrder.member_id == member_id, MallOrder.goods_id.in_(goods_ids),
               MallOrder.status.in_(COUNTED_STATUSES))
        .group_by(MallOrder.goods_id)).all())


# -- stock movements (conditional updates; the caller's transaction) -------------------------------

def take(goods_id: int, quantity: int, *, reserve: bool) -> None:
    """Take units from stock, sold now or reserved for an unpaid order: OutOfStock, and nothing
    taken, if fewer are left. The goods row's lock is taken here: call it last in the transaction."""
    moved = Goods.reserved if reserve else Goods.sold
    left = db.session.execute(update(Goods).where(Goods.id == goods_id, Goods.stock >= quantity).values(
        {Goods.stock: Goods.stock - quantity, moved: moved + quantity}).returning(Goods.stock)
        .execution_options(synchronize_session=False)).scalar()
    if left is None:
        raise OutOfStock(details={"goods_id": goods_id})
    sold_out.taken(goods_id, left)


def sell_reserved(goods_id: int, quantity: int) -> None:
    _move(goods_id, quantity, Goods.reserved, Goods.sold)


def release_reserved(goods_id: int, quantity: int) -> None:
    _move(goods_id, quantity, Goods.reserved, Goods.stock)


def give_back_sold(goods_id: int, quantity: int, *, restock: bool) -> None:
    """A refunded order's units: back in stock, or (virtual codes, which were shown) gone from the total."""
    if restock:
        _move(goods_id, quantity, Goods.sold, Goods.stock)
    else:
        _move(goods_id, quantity, Goods.sold, Goods.total)


def _move(goods_id: int, quantity: int, source, target) -> None:
    change = -quantity if target is Goods.total else quantity
    moved = db.session.execute(update(Goods).where(Goods.id == goods_id, source >= quantity).values(
        {source: source - quantity, target: target + change}).execution_options(synchronize_session=False))
    if moved.rowcount != 1:
        raise RuntimeError(f"goods {goods_id}: fewer than {quantity} units in {source.key}")
    if target is Goods.stock:
        sold_out.put_back(goods_id)
