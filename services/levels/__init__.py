"""Member levels: the ladder, the level policy (window and downgrades), evaluations, and the level gifts.

Other areas may call: levels.level_for / summary / summary_read / detail / makeup_cards / purchase_rewards / ladder /
follow_growth; policy.in_effect. Levels follow growth (`growth_followers`: each earning may move the
member up in its transaction) and place each new member at the entry level (`join_followers`).
Owns the evaluations at each period's end, their grace notices, the birthday gifts (the worker, hourly)
and the audit of levels and gifts.
"""
from services.platform.areas import Area, Periodic

AREA = Area("levels",
            periodic=(Periodic("levels.evaluate", "services.levels.evaluation.evaluate_due", 3600),
                      Periodic("levels.grace", "services.levels.evaluation.grace_period", 3600),
                      Periodic("levels.birthday", "services.levels.gifts.pay_birthday_gifts", 3600)),
            audit_checks={"levels": "services.levels.audit.audit_problems"},
            join_followers={"levels": "services.levels.levels.place_new_member"},
            growth_followers={"levels": "services.levels.levels.FOLLOWS_GROWTH"})
