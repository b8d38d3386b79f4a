"""The coupon catalogue operators keep: templates (the terms of a coupon) and packs of them."""
from sqlalchemy import select

from models import db
from models.coupon import CouponPack, CouponPackItem, CouponTemplate
from services.coupons.coupons import lock_template, missing
from services.platform import clock
from services.platform.db import lock_row, transaction
from services.platform.errors import Conflict, InvalidRequest
from services.platform.pagination import page

TEMPLATE_TERMS = ("name", "kind", "amount_fen", "discount_pct", "min_spend_fen", "gift_name", "channel")
TEMPLATE_SETTINGS = ("name", "total_stock", "per_member_limit", "active")
VALIDITY = ("valid_days", "valid_from", "valid_until")
CREATE_FIELDS = TEMPLATE_TERMS + TEMPLATE_SETTINGS + VALIDITY
KIND_FIELDS = {"cash_off": "amount_fen", "discount": "discount_pct", "gift": "gift_name"}


def create_template(fields: dict) -> CouponTemplate:
    """Add a coupon template."""
    with transaction():
        template = CouponTemplate(**{key: fields[key] for key in CREATE_FIELDS if key in fields},
                                  issued=0, created_at=clock.now())
        _check_template(template)
        db.session.add(template)
    return template


def update_template(template_id: int, fields: dict) -> CouponTemplate:
    """Change a template's name, stock, limit, validity for new issues, or active flag; never its terms."""
    with transaction():
        template = lock_template(template_id) or missing("coupon template")
        for key in TEMPLATE_SETTINGS:
            if key in fields:
                setattr(template, key, fields[key])
        if any(key in fields for key in VALIDITY):  # validity is replaced as a whole
            for key in VALIDITY:
                setattr(template, key, fields.get(key))
        _check_template(template)
    return template


def _check_template(template: CouponTemplate) -> None:
    problems = {}
    for kind, field in KIND_FIELDS.items():
        if (kind == template.kind) != (getattr(template, field) is not None):
            problems[field] = [f"Required for and only for {kind} coupons."]
    window = (template.valid_from, template.valid_until)
    by_days, fixed = template.valid_days is not None, None not in window
    if not ((by_days and window == (None, None)) or (fixed and not by_days)):
        problems["valid_days"] = ["Give either valid_days or both valid_from and valid_until."]
    elif fixed and template.valid_until <= template.valid_from:
        problems["valid_until"] = ["Must be after valid_from."]
    if problems:
        raise InvalidRequest("The coupon template is not consistent.", status=422, details=problems)
    if template.total_stock is not None and template.total_stock < template.issued:
        raise Conflict("total_stock cannot go below what was already issued.", details={"issued": template.issued})


def get_template(template_id: int) -> CouponTemplate:
    return db.session.get(CouponTemplate, template_id) or missing("coupon template")


def find_templates(*, limit: int, cursor: str | None) -> dict:
    """Coupon templates, newest first."""
    return page(db.session, select(CouponTemplate), id_column=CouponTemplate.id, limit=limit, cursor=cursor)


def deactivate_template(template_id: int) -> None:
    """Stop issuing a template; coupons already issued stay usable."""
    update_template(template_id, {"active": False})


def create_pack(*, name: str, items: list[dict]) -> CouponPack:
    """Add a coupon pack of existing templates."""
    with transaction():
        pack = add_pack(name=name, items=items)
    return pack


def add_pack(*, name: str, items: list[dict]) -> CouponPack:
    """A new pack, inside the caller's transaction (flushes)."""
    pack = CouponPack(name=name, active=True, created_at=clock.now(), items=_pack_items(items))
    db.session.add(pack)
    db.session.flush()
    return pack


def one_coupon_pack(template_id: int | None, *, name: str) -> CouponPack:
    """A pack of one coupon of a template, for what hands out a single coupon (a lottery prize, a
    mall goods), inside the caller's transaction; a 422 when there is no such template."""
    if template_id is None or db.session.get(CouponTemplate, template_id) is None:
        raise InvalidRequest("A coupon needs a coupon template.", status=422,
                             details={"coupon_template_id": ["No such coupon template."]})
    return add_pack(name=name[:64], items=[{"template_id": template_id, "quantity": 1}])


def update_pack(pack_id: int, fields: dict) -> CouponPack:
    """Rename, (de)activate or refill a pack; what it already issued stays."""
    with transaction():
        pack = lock_row(CouponPack, pack_id) or missing("coupon pack")
        pack.name, pack.active = fields.get("name", pack.name), fields.get("active", pack.active)
        if "items" in fields:
            pack.items.clear()
            db.session.flush()
            pack.items.extend(_pack_items(fields["items"]))
    return pack


def _pack_items(items: list[dict]) -> list[CouponPackItem]:
    wanted = {item["template_id"] for item in items}
    known = set(db.session.scalars(select(CouponTemplate.id).where(CouponTemplate.id.in_(wanted))))
    if missing := sorted(wanted - known):
        raise InvalidRequest("Unknown coupon templates.", status=422, details={"items": {"template_id": missing}})
    return [CouponPackItem(template_id=item["template_id"], quantity=item["quantity"]) for item in items]


def get_pack(pack_id: int) -> CouponPack:
    return db.session.get(CouponPack, pack_id) or missing("coupon pack")


def require_packs(**ids_by_field) -> None:
    """InvalidRequest (422) naming each field whose coupon pack does not exist; a field gives one id, a
    collection of ids, or None (no pack)."""
    unknown = {}
    for field, ids in ids_by_field.items():
        for pack_id in ids if isinstance(ids, (set, list, tuple)) else (ids,):
            if pack_id is not None and db.session.get(CouponPack, pack_id) is None:
                unknown.setdefault(field, []).append(f"No coupon pack {pack_id}.")
    if unknown:
        raise InvalidRequest("No such coupon pack.", status=422, details=unknown)


def find_packs(*, limit: int, cursor: str | None) -> dict:
    """Coupon packs, newest first."""
    return page(db.session, select(CouponPack), id_column=CouponPack.id, limit=limit, cursor=cursor)


def deactivate_pack(pack_id: int) -> None:
    """Stop issuing a pack."""
    update_pack(pack_id, {"active": False})
