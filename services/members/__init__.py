"""Members and operators: login, profiles, status, token revocation, member cards, operator accounts.

Other areas may call: members.get_member, members.brief, members.profile; member_cards.changed
(after a level or token change), member_cards.Card; member_lock.lock_member (every unit of work that
moves a member's money or growth, in the lock order); operators.authenticate (the HTTP layer).
"""
from services.platform.areas import Area

AREA = Area("members",
            rebuilders={"member_cards": "services.members.member_cards.rebuild_cards"},
            repairers={"member_card": "services.members.member_cards.repair_card"})
