"""seed-demo: the rules, levels and accounts a brand starts from (safe to run again).

A development tool beside the app, like the sandbox: no production module imports it. The data is
demo/data.py; every write goes through the services, and only reads (what exists already) are queries
here. The demo operator, the virtual goods' made-up codes, the demo guide and the demo member's points
are seeded on the sandbox only: with a real WeChat app their published passwords and codes would be real.
"""
from flask import current_app
from sqlalchemy import select

from config import on_sandbox
from demo import data
from models import Goods, Guide, Level, Lottery, Member, Operator, PaymentRule, PointsEntry, Store, Task, db
from models.coupon import CouponPack, CouponTemplate
from models.invite import InviteRule
from models.mall import VirtualCode
from models.signin import SigninRule
from sandbox.crypto import derived_id
from services.coupons import catalog
from services.guides import guides
from services.invites import rules as invite_rules
from services.ledger import grants
from services.levels import levels
from services.mall import goods, lotteries
from services.members import members, operators
from services.payments import rules as payment_rules
from services.payments import stores
from services.platform import clock
from services.platform.db import transaction
from services.platform.deploy_checks import DEMO_OPERATOR
from services.signin import rules as signin_rules
from services.tasks import definitions


def seed(echo) -> None:
    """Every step, in order, each saying what it did through `echo` (click.echo)."""
    created = seed_levels()
    echo(f"levels: {len(created)} created ({', '.join(created) or 'all present'})")
    operator = seed_operator()
    echo(f"operator: {operator + ' created' if operator else 'demo operator present'}")
    pack_id = seed_coupons()
    echo(f"coupons: templates 满50减10 and 9折券 in pack {pack_id}")
    level_pack = seed_level_gifts()
    echo(f"level gifts: pack {level_pack} ({data.LEVEL_GIFT_PACK}) on each level above the entry, "
         f"birthday points {data.BIRTHDAY_POINTS}")
    store, rule = seed_store_and_payment_rule(pack_id)
    echo(f"store {store!r}; payment rule {rule!r} (pay ≥ 50 元 → pack {pack_id})")
    signin_rule = seed_signin_rules()
    echo(f"sign-in rules: {f'version {signin_rule} created' if signin_rule else 'present'}")
    invite_rule = seed_invite_rules()
    echo(f"invitation rules: {f'version {invite_rule} created' if invite_rule else 'present, or no operator'}")
    _seed_activities(echo)
    _seed_sandbox_accounts(echo)


def _seed_activities(echo) -> None:
    tasks = seed_tasks()
    echo(f"tasks: {len(tasks)} created ({', '.join(tasks) or 'all present'})")
    created = seed_goods()
    echo("goods: no operator to create them (create-operator, then seed-demo again)" if created is None
         else f"goods: {len(created)} created ({', '.join(created) or 'all present'})")
    lottery = seed_lottery()
    echo("lottery: no operator to create it" if lottery is None
         else f"lottery {data.DEMO_LOTTERY!r}: id {lottery[0]}{' created' if lottery[1] else ' present'}")


def _seed_sandbox_accounts(echo) -> None:
    guide = seed_guide()
    if guide:
        echo(f"demo guide: {guide} created (password {data.DEMO_GUIDE[1]!r})")
    member = seed_demo_member_points()
    if member:
        echo(f"demo member {member[0]} (sandbox user {data.DEMO_MEMBER_USER!r}): "
             f"{f'{data.DEMO_MEMBER_POINTS} points given' if member[1] else 'points given before'}")


def seed_levels() -> list[str]:
    """Create the default levels whose code and threshold are both free; the codes created."""
    codes = set(db.session.scalars(select(Level.code)))
    thresholds = set(db.session.scalars(select(Level.threshold)))
    missing = [fields for fields in data.LEVELS
               if fields["code"] not in codes and fields["threshold"] not in thresholds]
    return [level.code for level in levels.add_levels(missing)]


def seed_operator() -> str | None:
    """The demo operator, on the sandbox only, unless it exists; its username when created."""
    username, password = DEMO_OPERATOR
    present = db.session.scalar(select(Operator.id).where(Operator.username == username))
    if not on_sandbox(current_app.config) or present:
        return None
    return operators.create_operator(username=username, password=password).username


def seed_coupons() -> int:
    """The demo coupon templates and the after-payment pack holding one of each, unless present; the pack id."""
    template_ids = [_template_id(fields["name"]) or catalog.create_template(fields).id
                    for fields in data.COUPON_TEMPLATES]
    return _pack_of(data.PAYMENT_PACK, template_ids)


def seed_level_gifts() -> int | None:
    """The level-up pack (one 9折券) on every level above the entry that has none, and the levels'
    birthday points where they have none; the pack id (None without the demo coupons)."""
    template_id = _template_id(data.LEVEL_GIFT_TEMPLATE)
    if template_id is None:
        return None
    pack_id = _pack_of(data.LEVEL_GIFT_PACK, [template_id])
    above_entry = db.session.scalars(select(Level).where(Level.threshold > 0))
    levels.set_benefits({level.id: _gifts_missing(level, pack_id) for level in above_entry})
    return pack_id


def _gifts_missing(level: Level, pack_id: int) -> dict:
    return {"levelup_pack_id": level.levelup_pack_id or pack_id,
            "birthday_points": level.birthday_points or data.BIRTHDAY_POINTS.get(level.code, 0)}


def _pack_of(name: str, template_ids: list[int]) -> int:
    """The active pack of this name, or a new one holding one coupon of each template; its id."""
    return _pack_id(name) or catalog.create_pack(
        name=name, items=[{"template_id": template_id, "quantity": 1} for template_id in template_ids]).id


def seed_store_and_payment_rule(pack_id: int) -> tuple[str, str]:
    """A demo store, and the rule "pay ≥ 50 元 → the 支付有礼 pack", unless present."""
    if db.session.scalar(select(Store.id).where(Store.name == data.DEMO_STORE).limit(1)) is None:
        stores.create_store(name=data.DEMO_STORE)
    if db.session.scalar(select(PaymentRule.id).where(PaymentRule.name == data.DEMO_RULE, PaymentRule.active)
                         .limit(1)) is None:
        payment_rules.create_rule({**data.PAYMENT_RULE, "coupon_pack_id": pack_id})
    return data.DEMO_STORE, data.DEMO_RULE


def seed_signin_rules() -> int | None:
    """The demo sign-in rules (DEFAULT_RULE, the 支付有礼 pack on day 7), in force today, unless any exist."""
    if db.session.scalar(select(SigninRule.id).limit(1)) is not None:
        return None
    rewards = [dict(reward) for reward in signin_rules.DEFAULT_RULE["rewards"]]
    rewards[-1]["coupon_pack_id"] = _pack_id(data.PAYMENT_PACK)
    return signin_rules.create_rule({"rewards": rewards}, effective_from=clock.today()).id


def seed_invite_rules() -> int | None:
    """The demo invitation rules (data.INVITE_RULE, the friend's gift the 支付有礼 pack), unless any exist;
    audited, so only with an operator to record them for."""
    operator = _demo_operator()
    if operator is None or db.session.scalar(select(InviteRule.id).limit(1)) is not None:
        return None
    return invite_rules.set_rules(operator.id, {**data.INVITE_RULE, "friend_pack_id": _pack_id(data.PAYMENT_PACK)},
                                  replace=False).id


def seed_tasks() -> list[str]:
    """The demo tasks that are missing (by code), created by the demo operator; their codes."""
    operator = _demo_operator()
    existing = set(db.session.scalars(select(Task.code)))
    missing = [_resolved(fields) for fields in data.TASKS if fields["code"] not in existing]
    return [definitions.create_task(operator, fields).code for fields in missing]


def seed_goods() -> list[str] | None:
    """The demo goods that are missing (by name), created by the demo operator, a virtual goods' codes
    uploaded as CSV; their names (None: no operator to create them)."""
    operator = _demo_operator()
    if operator is None:
        return None
    existing = set(db.session.scalars(select(Goods.name)))
    sandbox = on_sandbox(current_app.config)
    created = []
    for row in data.GOODS:
        fields = _resolved({**data.GOODS_DEFAULTS, **row})
        codes = fields.pop("codes", None)
        if not sandbox:  # made-up codes: with a real WeChat app members would pay real points for them
            codes = None
        if fields["name"] not in existing:
            goods_id = goods.create_goods(operator, fields).id
            created.append(fields["name"])
        else:  # created before, its codes perhaps not uploaded (an earlier run stopped between the two)
            goods_id = _goods_without_codes(fields["name"]) if codes else None
        if codes and goods_id:
            goods.add_codes(operator, goods_id, "code\n" + "\n".join(codes))
    return created


def _goods_without_codes(name: str) -> int | None:
    """The id of the goods of this name while none of its codes is uploaded."""
    goods_id = db.session.scalar(select(Goods.id).where(Goods.name == name).order_by(Goods.id).limit(1))
    has_codes = db.session.scalar(select(VirtualCode.id).where(VirtualCode.goods_id == goods_id).limit(1))
    return None if has_codes else goods_id


def seed_lottery() -> tuple[int, bool] | None:
    """The demo lottery unless one of its name is active, created by the demo operator; its id and
    whether it was created now (None: no operator to create it)."""
    lottery_id = db.session.scalar(select(Lottery.id).where(Lottery.name == data.DEMO_LOTTERY, Lottery.active)
                                   .order_by(Lottery.id).limit(1))
    if lottery_id is not None:
        return lottery_id, False
    operator = _demo_operator()
    if operator is None:
        return None
    fields = {**data.LOTTERY, "prizes": [_resolved(prize) for prize in data.LOTTERY["prizes"]]}
    return lotteries.create_lottery(operator, fields).id, True


def seed_demo_member_points() -> tuple[int, bool] | None:
    """On the sandbox: the member the sandbox's user "demo" logs in as (created now if it has not logged
    in yet) gets DEMO_MEMBER_POINTS once, an audited adjustment by the demo operator, so that it can
    redeem goods and draw. Its id and whether the points were given now (None: not on the sandbox, or no
    operator)."""
    operator = _demo_operator()
    if not on_sandbox(current_app.config) or operator is None:
        return None
    member_id = _demo_member_id()
    # grants.adjust_points' business key: given once, whichever operator comes first
    given = PointsEntry.business_key.like(f"admin:%:{data.DEMO_POINTS_KEY}")
    if db.session.scalar(select(PointsEntry.id).where(PointsEntry.member_id == member_id, given)):
        return member_id, False
    grants.adjust_points(operator, member_id, delta=data.DEMO_MEMBER_POINTS, reason="demo points (seed-demo)",
                         request_key=data.DEMO_POINTS_KEY)
    return member_id, True


def _demo_member_id() -> int:
    # the openid the sandbox hands this user: it derives openids this way
    openid = derived_id("o", current_app.config["WECHAT_APPID"], data.DEMO_MEMBER_USER)
    member_id = db.session.scalar(select(Member.id).where(Member.openid == openid))
    if member_id is None:
        with transaction():
            member_id = members.create_member(openid).id
    return member_id


def seed_guide() -> str | None:
    """On the sandbox: the demo store's demo guide unless present; the guide's phone when created."""
    operator = _demo_operator()
    if not on_sandbox(current_app.config) or operator is None:
        return None
    if db.session.scalar(select(Guide.id).where(Guide.phone == data.GUIDE["phone"])):
        return None
    store_id = db.session.scalar(select(Store.id).where(Store.name == data.DEMO_STORE).order_by(Store.id).limit(1))
    return guides.create_guide(operator, {**data.GUIDE, "store_id": store_id}).phone


def _demo_operator() -> Operator | None:
    """Who the audited demo creates are recorded for: the first operator (the demo operator on the
    sandbox). Goods and lotteries are audited with no exception: without an operator they are not seeded."""
    return db.session.scalar(select(Operator).order_by(Operator.id).limit(1))


def _resolved(fields: dict) -> dict:
    """The fields with each reference by name (data.py) replaced by the id it names (None: not there)."""
    resolved = dict(fields)
    for reference, (field, find) in REFERENCES.items():
        if reference in resolved:
            resolved[field] = find(resolved.pop(reference))
    return resolved


def _template_id(name: str) -> int | None:
    return db.session.scalar(select(CouponTemplate.id).where(CouponTemplate.name == name, CouponTemplate.active)
                             .order_by(CouponTemplate.id).limit(1))


def _pack_id(name: str) -> int | None:
    return db.session.scalar(select(CouponPack.id).where(CouponPack.name == name, CouponPack.active)
                             .order_by(CouponPack.id).limit(1))


def _level_id(code: str) -> int | None:
    return db.session.scalar(select(Level.id).where(Level.code == code))


REFERENCES = {"coupon_template": ("coupon_template_id", _template_id), "reward_pack": ("reward_pack_id", _pack_id),
              "min_level": ("min_level_id", _level_id)}
