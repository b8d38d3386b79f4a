"""What seed-demo loads, as plain data. A row names another demo row instead of holding its id:
`coupon_template` (a template's name), `reward_pack` (a pack's name), `min_level` (a level's code)."""

LEVELS = [
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

COUPON_TEMPLATES = [
    {"name": "满50减10", "kind": "cash_off", "amount_fen": 1000, "min_spend_fen": 5000, "valid_days": 30,
     "channel": "all", "active": True},
    {"name": "9折券", "kind": "discount", "discount_pct": 90, "min_spend_fen": 0, "valid_days": 30,
     "channel": "all", "active": True},
]
PAYMENT_PACK = "支付有礼礼包"  # one of each template: the payment rule's and the sign-in's day-7 pack
LEVEL_GIFT_PACK = "升级礼包"  # on each level above the entry
LEVEL_GIFT_TEMPLATE = "9折券"
BIRTHDAY_POINTS = {"silver": 50, "gold": 100, "platinum": 200, "diamond": 500}

DEMO_STORE = "旗舰店"
DEMO_RULE = "支付满50元送礼包"
PAYMENT_RULE = {"name": DEMO_RULE, "min_amount_fen": 5000, "active": True}

# A task of every kind: the newbie chain and its bonus, daily, weekly, monthly and an achievement.
TASKS = [
    {"code": "newbie_profile", "title": "完善个人资料", "kind": "newbie", "event": "profile_completed", "target": 1,
     "reward_points": 20, "reward_growth": 5, "page": "pages/me/profile", "sort_order": 0},
    {"code": "newbie_phone", "title": "绑定手机号", "kind": "newbie", "event": "phone_bound", "target": 1,
     "reward_points": 20, "reward_growth": 5, "page": "pages/me/phone", "sort_order": 1},
    {"code": "newbie_signin", "title": "完成首次签到", "kind": "newbie", "event": "signin", "target": 1,
     "reward_points": 10, "reward_growth": 5, "page": "pages/signin/index", "sort_order": 2},
    {"code": "newbie_purchase", "title": "完成首笔消费", "kind": "newbie", "event": "payment_paid", "target": 1,
     "reward_points": 50, "reward_growth": 5, "page": "pages/pay/index", "sort_order": 3},
    {"code": "newbie_bonus", "title": "新手任务全部完成", "kind": "newbie", "event": "newbie_step", "target": 4,
     "reward_pack": PAYMENT_PACK, "sort_order": 9},
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

# Goods of every kind (physical, coupon, virtual) in every price mix: pure points, low points + high cash,
# high points + low cash; and one for the top level only. Fields as OperatorGoodsSchema loads them over
# GOODS_DEFAULTS; a virtual goods' `codes` are uploaded after it is created (on the sandbox only).
GOODS_DEFAULTS = {"description": "", "images": [], "category": None, "coupon_template_id": None, "stock": 0,
                  "per_order_limit": 1, "per_member_limit": None, "min_level_id": None, "level_discount": True,
                  "starts_at": None, "ends_at": None, "status": "on_sale"}
GOODS = [
    {"name": "品牌帆布袋", "description": "纯积分兑换，包邮到家", "images": ["https://example.com/mall/tote-bag.png"],
     "category": "周边", "kind": "physical", "price_points": 800, "price_fen": 0, "stock": 200,
     "per_order_limit": 2},
    {"name": "不锈钢保温杯", "description": "100 积分 + 59 元", "images": ["https://example.com/mall/thermos.png"],
     "category": "家居", "kind": "physical", "price_points": 100, "price_fen": 5900, "stock": 100},
    {"name": "蓝牙耳机", "description": "2000 积分 + 9.9 元", "images": ["https://example.com/mall/earbuds.png"],
     "category": "数码", "kind": "physical", "price_points": 2000, "price_fen": 990, "stock": 50},
    {"name": "满50减10优惠券", "description": "兑换后放入券包，30 天内有效",
     "images": ["https://example.com/mall/coupon-cash-off.png"], "category": "优惠券", "kind": "coupon",
     "coupon_template": "满50减10", "price_points": 200, "price_fen": 0, "stock": 500, "per_order_limit": 5},
    {"name": "9折券", "description": "300 积分 + 1 元", "images": ["https://example.com/mall/coupon-discount.png"],
     "category": "优惠券", "kind": "coupon", "coupon_template": "9折券", "price_points": 300, "price_fen": 100,
     "stock": 500, "per_member_limit": 10},
    {"name": "视频会员月卡", "description": "兑换码即时发放", "images": ["https://example.com/mall/video-vip.png"],
     "category": "会员权益", "kind": "virtual", "price_points": 1500, "price_fen": 0,
     "codes": [f"DEMO-VIP-{n:04d}" for n in range(1, 31)]},
    {"name": "咖啡兑换码", "description": "50 积分 + 15 元，任意门店兑换中杯", "images": ["https://example.com/mall/coffee.png"],
     "category": "会员权益", "kind": "virtual", "price_points": 50, "price_fen": 1500,
     "codes": [f"DEMO-COFFEE-{n:04d}" for n in range(1, 31)]},
    {"name": "钻石专享礼盒", "description": "钻石会员专享，每人限兑 1 份", "images": ["https://example.com/mall/gift-box.png"],
     "category": "周边", "kind": "physical", "price_points": 5000, "price_fen": 0, "stock": 20,
     "per_member_limit": 1, "min_level": "diamond", "level_discount": False},
]

DEMO_LOTTERY = "每日积分抽奖"
LOTTERY = {"name": DEMO_LOTTERY, "cost_points": 20, "daily_limit": 3, "starts_at": None, "ends_at": None, "prizes": [
    {"name": "50 积分", "kind": "points", "points": 50, "weight": 30, "stock": None},
    {"name": "500 积分", "kind": "points", "points": 500, "weight": 2, "stock": 100},
    {"name": "满50减10优惠券", "kind": "coupon", "coupon_template": "满50减10", "weight": 18, "stock": 200},
    {"name": "谢谢参与", "kind": "none", "weight": 50, "stock": None},
]}

DEMO_GUIDE = ("13800000088", "demo-guide-pass")  # phone, password: printed by scripts/run (sandbox only)
# the demo store's guide, with the WeCom userid the sandbox's corp knows (the worker makes its 联系我 code)
GUIDE = {"name": "导购小美", "phone": DEMO_GUIDE[0], "password": DEMO_GUIDE[1], "wecom_userid": "demo-guide",
         "qr_image_url": None}

DEMO_MEMBER_USER = "demo"  # the sandbox user scripts/demo-login and the demo scripts log in as
DEMO_MEMBER_POINTS = 10_000
DEMO_POINTS_KEY = "seed-demo:demo-member-points"  # the adjustment's request key: given once

# 邀请有礼: the friend's first payment of at least 10 元 rewards both sides (the friend also gets the
# 支付有礼 pack); at most 10 rewarded friends a day, 100 a month; a week to qualify
INVITE_RULE = {"name": "邀请有礼", "step": "payment", "min_payment_fen": 1000, "inviter_points": 200,
               "inviter_growth": 20, "friend_points": 50, "friend_growth": 5, "daily_cap": 10, "monthly_cap": 100,
               "window_days": 7, "joins_per_address": 20}
