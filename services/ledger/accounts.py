"""A member's accounts in the ledgers, opened as the member joins (a `join_followers` contribution)."""
from models import GrowthAccount, Member, PointsAccount, db


def open_accounts(member: Member) -> None:
    db.session.add_all([PointsAccount(member_id=member.id), GrowthAccount(member_id=member.id)])
