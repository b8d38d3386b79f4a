"""Members' figures of a day: who joined (and at which level), who moved level, who was active, who
came back (the cohorts' returns), and the sign-ins. Each query reads only the window's rows, through an
index on the time column it bounds."""
from collections import Counter
from datetime import date, timedelta

from sqlalchemy import and_, case, func, literal_column, or_, select, union
from sqlalchemy.orm import aliased

from models import GuideScan, LevelChange, MallOrder, Member, Payment, TaskClaim, db
from models.signin import SigninRecord
from services.payments import payments
from services.stats.window import Window

RETURN_DAYS = (1, 7, 30)  # a cohort's returns counted N days after it joined
LONG_STREAK = 7  # streaks of this length and more are counted together
# a literal, not a parameter: the partial index ix_signin_record_made_up serves only a query that says it
MADE_UP = SigninRecord.kind == literal_column("'made_up'")
NO_LEVEL = "none"


def level_key(level_id: int | None) -> str:
    return NO_LEVEL if level_id is None else str(level_id)


def joined(window: Window) -> Counter:
    """Members who joined in the window, by the level they joined at: the first recorded move's origin, or
    the level they hold when they never moved."""
    # scalar subqueries, not EXISTS (which PostgreSQL may answer by hashing every move): each new member's
    # first move is found through the index of their moves
    first_move = (select(func.min(LevelChange.id)).where(LevelChange.member_id == Member.id)
                  .correlate(Member).scalar_subquery())
    first = aliased(LevelChange)
    moved_from = select(first.from_level_id).where(first.id == first_move).scalar_subquery()
    level = case((first_move.is_(None), Member.level_id), else_=moved_from)
    members = select(level.label("level")).where(*window.of(Member.created_at)).subquery()
    rows = db.session.execute(select(members.c.level, func.count()).group_by(members.c.level))
    return Counter({level_key(level_id): count for level_id, count in rows})


def level_moves(window: Window) -> Counter:
    """Members gained (or lost, negative) by each level through the moves made in the window."""
    moved = Counter()
    for from_id, to_id, count in db.session.execute(
            select(LevelChange.from_level_id, LevelChange.to_level_id, func.count())
            .where(*window.of(LevelChange.created_at))
            .group_by(LevelChange.from_level_id, LevelChange.to_level_id)):
        moved[level_key(to_id)] += count
        moved[level_key(from_id)] -= count
    return moved


def _active_ids(day: date, window: Window):
    """Members who signed in (or made a day up), claimed a task, ordered in the mall, paid or were scanned
    by a guide on `day`: one row each."""
    return union(
        select(SigninRecord.member_id).where(SigninRecord.day == day, SigninRecord.kind == "signed"),
        select(SigninRecord.member_id).where(MADE_UP, *window.of(SigninRecord.created_at)),
        select(TaskClaim.member_id).where(*window.of(TaskClaim.created_at)),
        select(MallOrder.member_id).where(*window.of(MallOrder.created_at)),
        select(Payment.member_id).where(Payment.status.in_(payments.PAID_STATES), *window.of(Payment.created_at)),
        select(GuideScan.member_id).where(*window.of(GuideScan.scanned_at)),
    ).subquery()


def _returned(day: date, members) -> tuple:
    """Of the members who joined 1, 7 and 30 days before `day`, how many are among `members` (a subquery of
    ids): the cohorts' members are found by the day they joined, never by reading every member."""
    cohorts = [and_(*Window.day(day - timedelta(days=n)).of(Member.created_at)) for n in RETURN_DAYS]
    return db.session.execute(select(*(func.count(case((cohort, 1))) for cohort in cohorts))
                              .where(or_(*cohorts), Member.id.in_(members))).one()


def active(day: date, window: Window) -> dict:
    """Active members of the day, and how many of them joined 1, 7 and 30 days before (active_dN)."""
    ids = _active_ids(day, window)
    count = db.session.scalar(select(func.count()).select_from(ids))
    returns = _returned(day, select(ids.c.member_id))
    return {"active_members": count, **{f"active_d{n}": back for n, back in zip(RETURN_DAYS, returns)}}


def signins(day: date, window: Window) -> dict:
    """Sign-ins of the day (by the cycle day whose reward they paid), make-ups made that day, members on
    each streak length that day, and how many signed in 1, 7 and 30 days after joining (signed_dN)."""
    cycle = Counter(dict(db.session.execute(
        select(SigninRecord.cycle_day, func.count()).where(SigninRecord.day == day, SigninRecord.kind == "signed")
        .group_by(SigninRecord.cycle_day)).all()))
    signed = select(SigninRecord.member_id).where(SigninRecord.day == day, SigninRecord.kind == "signed")
    returns = _returned(day, signed)
    makeups = db.session.scalar(select(func.count()).select_from(SigninRecord).where(
        MADE_UP, *window.of(SigninRecord.created_at)))
    return {"signins": sum(cycle.values()), "makeups": makeups, "streaks": _streaks(day),
            "cycle_rewards": {str(cycle_day): count for cycle_day, count in sorted(cycle.items())},
            **{f"signed_d{n}": back for n, back in zip(RETURN_DAYS, returns)}}


def _streaks(day: date) -> dict:
    """Members whose run of signed (or made-up) days reached each length on `day`: 1…6, and 7+ together."""
    length = case((SigninRecord.streak >= LONG_STREAK, LONG_STREAK), else_=SigninRecord.streak)
    counted = dict(db.session.execute(
        select(length, func.count()).where(SigninRecord.day == day).group_by(length)).all())
    return {(f"{n}+" if n == LONG_STREAK else str(n)): counted.get(n, 0) for n in range(1, LONG_STREAK + 1)}


def mended_since(window: Window) -> date | None:
    """The earliest day a make-up made in the window mended: the streaks from that day on have changed."""
    return db.session.scalar(select(func.min(SigninRecord.day)).where(MADE_UP, *window.of(SigninRecord.created_at)))

