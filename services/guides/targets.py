"""导购任务: targets operators give guides for a week or a month (bind N members, write off N coupons,
N in-store purchases or an amount), their progress counted from the same rows as the guide's results."""
from sqlalchemy import or_, select

from models import Guide, GuideTarget, db
from services.guides import store_work
from services.payments import stores
from services.platform import audit_trail, clock
from services.platform.db import get_row, transaction
from services.platform.errors import InvalidRequest


def create_target(operator, fields: dict) -> GuideTarget:
    """A target for one guide, a store's guides, or every guide (audited)."""
    if fields.get("guide_id") and db.session.get(Guide, fields["guide_id"]) is None:
        raise InvalidRequest("No such guide.", status=422, details={"guide_id": ["No such guide."]})
    if fields.get("store_id") and stores.find_store(fields["store_id"]) is None:
        raise InvalidRequest("No such store.", status=422, details={"store_id": ["No such store."]})
    with transaction():
        target = GuideTarget(**fields, active=True, created_at=clock.now())
        db.session.add(target)
        db.session.flush()
        audit_trail.record(operator.id, "guide_target.create", target_type="guide_target", target_id=target.id,
                           reason=None, details={"metric": target.metric, "target": target.target})
    return target


def all_targets() -> list[GuideTarget]:
    return list(db.session.scalars(select(GuideTarget).order_by(GuideTarget.id)))


def end_target(operator, target_id: int) -> None:
    with transaction():
        target = get_row(GuideTarget, target_id, missing="No such target.")
        target.active = False
        audit_trail.record(operator.id, "guide_target.end", target_type="guide_target", target_id=target_id,
                           reason=None)


def guide_tasks(guide: Guide) -> list[dict]:
    """The guide's targets for the current period, each with its progress."""
    targets = list(db.session.scalars(select(GuideTarget).where(
        GuideTarget.active, or_(GuideTarget.guide_id == guide.id, GuideTarget.guide_id.is_(None)),
        or_(GuideTarget.store_id == guide.store_id, GuideTarget.store_id.is_(None))).order_by(GuideTarget.id)))
    results = {}
    tasks = []
    for target in targets:
        if target.period not in results:
            start, end = clock.period_bounds(target.period)
            results[target.period] = (store_work.totals(store_work.results_by_day(guide, start, end).values()),
                                      clock.period_key(target.period), end)
        done, key, end = results[target.period]
        tasks.append({"id": target.id, "title": target.title, "metric": target.metric, "period": key,
                      "ends_at": end, "target": target.target, "progress": done[target.metric],
                      "done": done[target.metric] >= target.target})
    return tasks
