"""The ledgers: points (earn, spend, hold / post / release, reverse, expire), growth value and levels.

Other areas may call: points.earn / spend / hold / post / release / reverse / summary; growth.earn /
reverse; levels.level_for / summary / makeup_cards / purchase_rewards / ladder / follow_growth; audit.check_books (audit-ledger).
Each only flushes: the caller's transaction commits. Points expire hourly (the worker).
"""
from services.platform.areas import Area, Periodic

AREA = Area("ledger",
            periodic=(Periodic("points.expire", "services.ledger.points.expire_due", 3600),),
            audit_checks={"points": "services.ledger.audit.points_problems",
                          "growth": "services.ledger.audit.growth_problems"})
