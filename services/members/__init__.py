"""Members and operators: login, profiles, status, token revocation, member cards, operator accounts.

Other areas may call: members.get_member / profile_read; cards.changed
(after a level or token change), cards.Card, cards.checked_read (a card read with other reads); operators.authenticate (the HTTP layer).
"""
from services.platform.areas import Area

AREA = Area("members",
            rebuilders={"member_cards": "services.members.cards.rebuild_cards"},
            repairers={"member_card": "services.members.cards.repair_card"})
