"""audit-ledger's coupon checks: what a template says it issued against the coupons that exist, and
holds only on coupons still unused."""
from sqlalchemy import func, select

from models import db
from models.coupon import Coupon, CouponTemplate


def audit_problems() -> list[str]:
    issued = select(Coupon.template_id.label("k"), func.count().label("n")).group_by(Coupon.template_id).subquery()
    problems = [f"coupon template {template_id}: issued {count} but {found} coupons exist"
                for template_id, count, found in db.session.execute(
                    select(CouponTemplate.id, CouponTemplate.issued, func.coalesce(issued.c.n, 0))
                    .outerjoin(issued, issued.c.k == CouponTemplate.id)
                    .where(CouponTemplate.issued != func.coalesce(issued.c.n, 0)))]
    held = db.session.scalar(select(func.count()).select_from(Coupon).where(
        Coupon.held_by.is_not(None), Coupon.status != "unused"))
    if held:
        problems.append(f"coupons: {held} used, expired or revoked coupons still held")
    return problems
