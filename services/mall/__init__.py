"""The points mall's lottery (积分抽奖): lotteries operators define, and members' draws.

Other areas may call nothing here yet. A draw spends points through the ledger, draws among the
prizes still in stock with a cryptographic random source, takes the prize's stock by a conditional
update, pays the prize and records the draw, in one transaction under the member's lock (which is
what keeps the daily limit under parallel draws). audit-ledger checks prize stock and draw counts.
"""
from services.platform.areas import Area

AREA = Area("mall", audit_checks={"lottery": "services.mall.lotteries.audit_problems"})
