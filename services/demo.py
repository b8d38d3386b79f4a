"""seed-demo: the rules, levels and accounts a brand starts from (safe to run again)."""
from sqlalchemy import select

from models import Level, Operator, db
from services import clock, levels, operators
from services.db import transaction

DEMO_OPERATOR = ("demo-admin", "demo-admin-pass")

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
        levels.refollow_all()
    return created


def seed_operator() -> str | None:
    """The demo operator, unless it exists; returns its username when created."""
    username, password = DEMO_OPERATOR
    if db.session.scalar(select(Operator.id).where(Operator.username == username)):
        return None
    return operators.create_operator(username=username, password=password).username
