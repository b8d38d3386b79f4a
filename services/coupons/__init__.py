"""Coupons: the catalogue (templates, packs) and each coupon's life (issued, held, used, expired, revoked).

Other areas may call: coupons.issue_pack / issue_whole_pack / hold_for_payment / use_held / release_held /
revoke_unused / any_used / redeem / discount_for / CouponNotUsable (each only flushes);
catalog.get_pack / one_coupon_pack / require_packs. Expires due coupons hourly.
"""
from services.platform.areas import Area, Periodic

AREA = Area("coupons", periodic=(Periodic("coupons.expire", "services.coupons.coupons.expire_all_due", 3600),),
            audit_checks={"coupons": "services.coupons.audit.audit_problems"})
