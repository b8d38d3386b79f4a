"""seed-demo: the rules, levels and accounts a brand starts from (safe to run again)."""
from flask import current_app
from sqlalchemy import select

from config import on_sandbox
from models import Goods, Guide, Level, Lottery, Member, Operator, PaymentRule, PointsEntry, Store, Task, VirtualCode, db
from models.coupon import CouponPack, CouponPackItem, CouponTemplate
from models.signin import SigninRule
from sandbox.crypto import derived_id
from services.levels import levels
from services.guides import guides
from services.mall import goods as catalogue
from services.mall import lotteries
from services.ledger import grants
from services.members import members, operators
from services.platform import clock
from services.platform.db import transaction
from services.platform.deploy_checks import DEMO_OPERATOR
from services.signin import rules
from services.tasks import definitions

DEMO_STORE = "旗舰店"
DEMO_RULE = "支付满50元送礼包"
DEMO_LOTTERY = "每日积分抽奖"
DEMO_MEMBER_USER = "demo"  # the sandbox user scripts/demo-login and the demo scripts log in as
DEMO_MEMBER_POINTS = 10_000

DEFAULT_LEVELS = [
    {"code": "normal", "name": "普通会员", "threshold": 0, "points_multiplier_pct": 100, "makeup_cards_per_month": 0,
     "mall_discount_pct": 100},
    {"code": "silver", "name": "白银会员", "threshold": 500, "points_multiplier_pct": 110, "makeup_cards_per_month": 1,
     "mall_discount_pct": 100},
    {"code": "gold", "name": "黄金会员", "threshold": 2000, "points_multiplier_pct": 120, "makeup_cards_per_month": 2,
     "mall_discount_pct": 98},
    {"code": "platinum", "name": "铂金会员", "threshold": 5000, "points_multiplier_pct": 150,
     "makeup_cards_per_month": 3, "mall_discount_pct": 95},
    {"code": "diamond", "name": "钻石会员", "threshold": 10000, "points_multiplier_pct": 200,
     "makeup_cards_per_month": 5, "mall_discount_pct": 90, "exclusive_goods": True},
]


def seed_levels() -> list[str]:
    """Create the five default levels that do not exist yet; returns the codes created."""
    created = []
    with transaction():
        existing = set(db.session.scalars(select(Level.code)))
        taken = set(db.session.scalars(select(Level.threshold)))
        for fields in DEFAULT_LEVELS:
            if fields["code"] in existing or fields["threshold"] in taken:
                continue
            db.session.add(Level(**fields, created_at=clock.now()))
            created.append(fields["code"])
        db.session.flush()
        levels.ladder_changed()
    return created


def seed_operator() -> str | None:
    """The demo operator, unless it exists; returns its username when created. Only on the sandbox: with
    a real WeChat app its published password would open the operator API (deploy_checks refuses it)."""
    if not on_sandbox(current_app.config):
        return None
    username, password = DEMO_OPERATOR
    if db.session.scalar(select(Operator.id).where(Operator.username == username)):
        return None
    return operators.create_operator(username=username, password=password).username


def seed_coupons() -> int:
    """The demo coupon templates and the after-payment pack holding one of each, unless present; the pack id."""
    templates = [
        {"name": "满50减10", "kind": "cash_off", "amount_fen": 1000, "min_spend_fen": 5000, "valid_days": 30},
        {"name": "9折券", "kind": "discount", "discount_pct": 90, "min_spend_fen": 0, "valid_days": 30},
    ]
    with transaction():
        ids = []
        for fields in templates:
            template = db.session.scalar(select(CouponTemplate).where(
                CouponTemplate.name == fields["name"], CouponTemplate.active).order_by(CouponTemplate.id).limit(1))
            if template is None:
                template = CouponTemplate(**fields, channel="all", issued=0, active=True, created_at=clock.now())
                db.session.add(template)
                db.session.flush()
            ids.append(template.id)
        pack = db.session.scalar(select(CouponPack).where(CouponPack.name == "支付有礼礼包", CouponPack.active)
                                 .order_by(CouponPack.id).limit(1))
        if pack is None:
            pack = CouponPack(name="支付有礼礼包", active=True, created_at=clock.now(),
                              items=[CouponPackItem(template_id=template_id, quantity=1) for template_id in ids])
            db.session.add(pack)
            db.session.flush()
        pack_id = pack.id
    return pack_id


LEVEL_GIFT_PACK = "升级礼包"
BIRTHDAY_POINTS = {"silver": 50, "gold": 100, "platinum": 200, "diamond": 500}


def seed_level_gifts() -> int | None:
    """The level-up pack (one 9折券) on every level above the entry that has none, and the levels'
    birthday points; the pack id (None without the demo levels)."""
    with transaction():
        template_id = db.session.scalar(select(CouponTemplate.id).where(CouponTemplate.name == "9折券",
                                                                        CouponTemplate.active).limit(1))
        if template_id is None:
            return None
        pack = db.session.scalar(select(CouponPack).where(CouponPack.name == LEVEL_GIFT_PACK, CouponPack.active)
                                 .order_by(CouponPack.id).limit(1))
        if pack is None:
            pack = CouponPack(name=LEVEL_GIFT_PACK, active=True, created_at=clock.now(),
                              items=[CouponPackItem(template_id=template_id, quantity=1)])
            db.session.add(pack)
            db.session.flush()
        for level in db.session.scalars(select(Level).where(Level.threshold > 0)):
            if level.levelup_pack_id is None:
                level.levelup_pack_id = pack.id
            if not level.birthday_points:
                level.birthday_points = BIRTHDAY_POINTS.get(level.code, 0)
        pack_id = pack.id
    return pack_id


def seed_store_and_payment_rule(pack_id: int) -> tuple[str, str]:
    """A demo store, and the rule "pay ≥ 50 元 → the 支付有礼 pack", unless present."""
    with transaction():
        store = db.session.scalar(select(Store).where(Store.name == DEMO_STORE).limit(1))
        if store is None:
            store = Store(name=DEMO_STORE, active=True, created_at=clock.now())
            db.session.add(store)
        rule = db.session.scalar(select(PaymentRule).where(PaymentRule.name == DEMO_RULE, PaymentRule.active)
                                 .limit(1))
        if rule is None:
            db.session.add(PaymentRule(name=DEMO_RULE, min_amount_fen=5000, coupon_pack_id=pack_id, active=True,
                                       created_at=clock.now()))
    return DEMO_STORE, DEMO_RULE


def seed_signin_rules() -> int | None:
    """The demo sign-in rules (DEFAULT_RULE, the 支付有礼 pack on day 7), in force today, unless any exist."""
    if db.session.scalar(select(SigninRule.id).limit(1)) is not None:
        return None
    pack_id = db.session.scalar(select(CouponPack.id).where(CouponPack.name == "支付有礼礼包", CouponPack.active)
                                .order_by(CouponPack.id).limit(1))
    rewards = [dict(reward) for reward in rules.DEFAULT_RULE["rewards"]]
    rewards[-1]["coupon_pack_id"] = pack_id
    return rules.create_rule({"rewards": rewards}, effective_from=clock.today()).id


def demo_tasks(pack_id: int) -> list[dict]:
    """A task of every kind: the newbie chain and its bonus, daily, weekly, monthly and an achievement."""
    newbie = [("newbie_profile", "完善个人资料", "profile_completed", 20, "pages/me/profile"),
              ("newbie_phone", "绑定手机号", "phone_bound", 20, "pages/me/phone"),
              ("newbie_signin", "完成首次签到", "signin", 10, "pages/signin/index"),
              ("newbie_purchase", "完成首笔消费", "payment_paid", 50, "pages/pay/index")]
    tasks = [{"code": code, "title": title, "kind": "newbie", "event": event, "target": 1, "reward_points": points,
              "reward_growth": 5, "page": page, "sort_order": n} for n, (code, title, event, points, page) in
             enumerate(newbie)]
    tasks += [
        {"code": "newbie_bonus", "title": "新手任务全部完成", "kind": "newbie", "event": "newbie_step", "target": 4,
         "reward_pack_id": pack_id, "sort_order": 9},
        {"code": "daily_signin", "title": "今日签到", "kind": "daily", "event": "signin", "target": 1, "reward_points": 5,
         "page": "pages/signin/index", "sort_order": 10},
        {"code": "daily_share", "title": "分享小程序给好友", "kind": "daily", "event": "share", "target": 1,
         "reward_points": 5, "client_reportable": True, "sort_order": 11},
        {"code": "daily_browse", "title": "浏览商品 3 次（每次 15 秒）", "kind": "daily", "event": "browse_goods",
         "target": 3, "reward_points": 5, "client_reportable": True, "page": "pages/mall/index", "sort_order": 12},
        {"code": "weekly_signin", "title": "本周签到 5 天", "kind": "weekly", "event": "signin", "target": 5,
         "reward_points": 30, "reward_growth": 10, "page": "pages/signin/index", "sort_order": 20},
        {"code": "weekly_spend", "title": "本周消费满 50 元", "kind": "weekly", "event": "payment_paid", "target": 1,
         "condition": {"min_amount_fen": 5000}, "reward_points": 50, "page": "pages/pay/index", "sort_order": 21},
        {"code": "monthly_purchases", "title": "本月消费 3 次", "kind": "monthly", "event": "payment_paid", "target": 3,
         "reward_points": 100, "reward_growth": 20, "sort_order": 30},
        {"code": "signin_achievement", "title": "累计签到", "kind": "achievement", "event": "signin",
         "tiers": [{"target": 1, "points": 10}, {"target": 10, "points": 50}, {"target": 50, "points": 200}],
         "sort_order": 40},
    ]
    return tasks


def seed_tasks() -> list[str]:
    """The demo tasks that are missing (by code), created by the demo operator; their codes."""
    operator = db.session.scalar(select(Operator).order_by(Operator.id).limit(1))
    pack_id = db.session.scalar(select(CouponPack.id).where(CouponPack.name == "支付有礼礼包", CouponPack.active)
                                .order_by(CouponPack.id).limit(1))
    existing = set(db.session.scalars(select(Task.code)))
    created = []
    for fields in demo_tasks(pack_id):
        if fields["code"] not in existing:
            definitions.create_task(operator, fields)
            created.append(fields["code"])
    return created


def _demo_operator() -> Operator | None:
    """Who the audited demo creates are recorded for: the first operator, as for the tasks (the demo
    operator on the sandbox). Goods and lotteries are audited with no exception: without an operator
    they are not seeded."""
    return db.session.scalar(select(Operator).order_by(Operator.id).limit(1))


def _template_id(name: str) -> int | None:
    return db.session.scalar(select(CouponTemplate.id).where(CouponTemplate.name == name, CouponTemplate.active)
                             .order_by(CouponTemplate.id).limit(1))


def _image(name: str) -> list[str]:
    return [f"https://example.com/mall/{name}.png"]


def demo_goods() -> list[dict]:
    """Goods of every kind (physical, coupon, virtual) in every price mix: pure points, low points + high
    cash, high points + low cash; and one for the top level only. Fields as OperatorGoodsSchema loads them;
    a virtual goods' `codes` are uploaded after it is created."""
    cash_off, discount = _template_id("满50减10"), _template_id("9折券")
    goods = [
        {"name": "品牌帆布袋", "description": "纯积分兑换，包邮到家", "images": _image("tote-bag"),
         "category": "周边", "kind": "physical", "price_points": 800, "price_fen": 0, "stock": 200,
         "per_order_limit": 2},
        {"name": "不锈钢保温杯", "description": "100 积分 + 59 元", "images": _image("thermos"),
         "category": "家居", "kind": "physical", "price_points": 100, "price_fen": 5900, "stock": 100},
        {"name": "蓝牙耳机", "description": "2000 积分 + 9.9 元", "images": _image("earbuds"),
         "category": "数码", "kind": "physical", "price_points": 2000, "price_fen": 990, "stock": 50},
        {"name": "满50减10优惠券", "description": "兑换后放入券包，30 天内有效", "images": _image("coupon-cash-off"),
         "category": "优惠券", "kind": "coupon", "coupon_template_id": cash_off, "price_points": 200, "price_fen": 0,
         "stock": 500, "per_order_limit": 5},
        {"name": "9折券", "description": "300 积分 + 1 元", "images": _image("coupon-discount"),
         "category": "优惠券", "kind": "coupon", "coupon_template_id": discount, "price_points": 300, "price_fen": 100,
         "stock": 500, "per_member_limit": 10},
        {"name": "视频会员月卡", "description": "兑换码即时发放", "images": _image("video-vip"),
         "category": "会员权益", "kind": "virtual", "price_points": 1500, "price_fen": 0,
         "codes": [f"DEMO-VIP-{n:04d}" for n in range(1, 31)]},
        {"name": "咖啡兑换码", "description": "50 积分 + 15 元，任意门店兑换中杯", "images": _image("coffee"),
         "category": "会员权益", "kind": "virtual", "price_points": 50, "price_fen": 1500,
         "codes": [f"DEMO-COFFEE-{n:04d}" for n in range(1, 31)]},
        {"name": "钻石专享礼盒", "description": "钻石会员专享，每人限兑 1 份", "images": _image("gift-box"),
         "category": "周边", "kind": "physical", "price_points": 5000, "price_fen": 0, "stock": 20,
         "per_member_limit": 1, "min_level_id": _level_id("diamond"), "level_discount": False},
    ]
    defaults = {"description": "", "images": [], "category": None, "coupon_template_id": None, "stock": 0,
                "per_order_limit": 1, "per_member_limit": None, "min_level_id": None, "level_discount": True,
                "starts_at": None, "ends_at": None, "status": "on_sale"}
    return [{**defaults, **fields} for fields in goods]


def _level_id(code: str) -> int | None:
    return db.session.scalar(select(Level.id).where(Level.code == code))


def seed_goods() -> list[str] | None:
    """The demo goods that are missing (by name), created by the demo operator, a virtual goods' codes
    uploaded as CSV; their names (None: no operator to create them). The made-up codes only on the
    sandbox: with a real app, members would pay real points for them (the goods wait for the brand's)."""
    operator = _demo_operator()
    if operator is None:
        return None
    existing = set(db.session.scalars(select(Goods.name)))
    sandbox = on_sandbox(current_app.config)
    created = []
    for fields in demo_goods():
        codes = fields.pop("codes", None)
        if not sandbox:
            codes = None
        if fields["name"] not in existing:
            goods_id = catalogue.create_goods(operator, fields).id
            created.append(fields["name"])
        elif codes:  # created before, its codes not yet uploaded (an earlier run stopped between the two)
            goods_id = db.session.scalar(select(Goods.id).where(Goods.name == fields["name"]).order_by(Goods.id)
                                         .limit(1))
            if db.session.scalar(select(VirtualCode.id).where(VirtualCode.goods_id == goods_id).limit(1)):
                continue
        if codes:
            catalogue.add_codes(operator, goods_id, "code\n" + "\n".join(codes))
    return created


def seed_lottery() -> tuple[int, bool] | None:
    """The demo lottery (20 points a draw, 3 a day) unless one of its name is active, created by the demo
    operator; its id and whether it was created now (None: no operator to create it)."""
    lottery_id = db.session.scalar(select(Lottery.id).where(Lottery.name == DEMO_LOTTERY, Lottery.active)
                                   .order_by(Lottery.id).limit(1))
    if lottery_id is not None:
        return lottery_id, False
    operator = _demo_operator()
    if operator is None:
        return None
    prizes = [
        {"name": "50 积分", "kind": "points", "points": 50, "weight": 30, "stock": None},
        {"name": "500 积分", "kind": "points", "points": 500, "weight": 2, "stock": 100},
        {"name": "满50减10优惠券", "kind": "coupon", "coupon_template_id": _template_id("满50减10"), "weight": 18,
         "stock": 200},
        {"name": "谢谢参与", "kind": "none", "weight": 50, "stock": None},
    ]
    lottery = lotteries.create_lottery(operator, {"name": DEMO_LOTTERY, "cost_points": 20, "daily_limit": 3,
                                                  "starts_at": None, "ends_at": None, "prizes": prizes})
    return lottery.id, True


def seed_demo_member_points() -> tuple[int, bool] | None:
    """On the sandbox only: the member the sandbox's user "demo" logs in as (created now if it has not
    logged in yet) gets DEMO_MEMBER_POINTS once, an audited adjustment by the demo operator, so that it
    can redeem goods and draw. Its id and whether the points were given now (None: not on the sandbox,
    or no operator)."""
    operator = _demo_operator()
    if not on_sandbox(current_app.config) or operator is None:
        return None
    openid = derived_id("o", current_app.config["WECHAT_APPID"], DEMO_MEMBER_USER)  # as the sandbox derives it
    with transaction():
        member = db.session.scalar(select(Member).where(Member.openid == openid))
        member_id = (member or members.create_member(openid)).id
    request_key = "seed-demo:demo-member-points"
    # grants.adjust_points' business key: given once, whichever operator comes first
    if db.session.scalar(select(PointsEntry.id).where(PointsEntry.member_id == member_id,
                                                      PointsEntry.business_key.like(f"admin:%:{request_key}"))):
        return member_id, False
    grants.adjust_points(operator, member_id, delta=DEMO_MEMBER_POINTS, reason="demo points (seed-demo)",
                            request_key=request_key)
    return member_id, True


DEMO_GUIDE = ("13800000088", "demo-guide-pass")  # phone, password: printed by scripts/run (sandbox only)


def seed_guide() -> str | None:
    """On the sandbox only: the demo store's demo guide, with the WeCom userid the sandbox's corp knows
    (its 联系我 code is made by the worker); the guide's phone when created."""
    operator = _demo_operator()
    if not on_sandbox(current_app.config) or operator is None:
        return None
    phone, password = DEMO_GUIDE
    if db.session.scalar(select(Guide.id).where(Guide.phone == phone)):
        return None
    store_id = db.session.scalar(select(Store.id).where(Store.name == DEMO_STORE).order_by(Store.id).limit(1))
    guides.create_guide(operator, {"store_id": store_id, "name": "导购小美", "phone": phone, "password": password,
                                   "wecom_userid": "demo-guide", "qr_image_url": None})
    return phone
