"""Payments (WeChat Pay v2 JSAPI), refunds, 支付有礼 rules and rewards, and the stores payments happen in.

Other areas may call: payments.create_payment / get_payment / get_member_payment / lock_payment /
settle_paid / PAID_STATES (the statuses of a payment that was paid), and for a payment of
their own kind (contributed as `payment_kinds`, see kinds.py) payments.open_payment /
request_order / settle_or_expire / close_unless_paid; payments.needing_attention (what waits for a person);
refunds.open_refund / refundable_fen / send;
stores.get_store / find_store / take_turn / all_stores; rules.coupon_stores (a store's own 支付有礼 coupons are used only there). Owns reconciliation with WeChat (every minute), the daily match with WeChat Pay's
bill (bills.py, hourly until each day is done) and the audit of every paid payment's rewards.
"""
from services.platform.areas import Area, Periodic

AREA = Area("payments",
            periodic=(Periodic("payments.reconcile", "services.payments.payments.reconcile_all", 60),
                      Periodic("payments.reconcile_bill", "services.payments.bills.reconcile_due", 3600)),
            audit_checks={"payments": "services.payments.audit.audit_problems"},
            gauges={"payments.backlog": "services.payments.backlog.gauges"})
