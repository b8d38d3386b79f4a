"""The ledgers: points (earn, spend, hold / post / release, reverse, expire) and growth value.

Other areas may call: earnings.earn (points and growth under one key); points.earn / spend / hold /
post / release / reverse / summary / summary_read; growth.earn / reverse / Follower (what follows growth, contributed
as `growth_followers`); grants.adjust_points / grant_growth (an operator's, audited); audit.check_books
(audit-ledger; check_and_record keeps each run, the worker's nightly one too). The ledger knows no level: levels follow growth (services.levels).
Each only flushes: the caller's transaction commits. Points expire hourly (the worker), and members
holding a `points_expiring` grant are warned POINTS_EXPIRY_WARN_DAYS ahead (expiry_warnings).
"""
from services.platform.areas import Area, Periodic

AREA = Area("ledger",
            periodic=(Periodic("points.expire", "services.ledger.points.expire_due", 3600),
                      Periodic("points.warn_expiring", "services.ledger.expiry_warnings.warn_expiring", 3600),
                      Periodic("ledger.audit", "services.ledger.audit.nightly", 86400)),
            audit_checks={"points": "services.ledger.audit.points_problems",
                          "growth": "services.ledger.audit.growth_problems"},
            gauges={"ledger.audit": "services.ledger.audit.gauges"},
            join_followers={"ledger": "services.ledger.accounts.open_accounts"})
