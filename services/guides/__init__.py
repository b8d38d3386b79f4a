"""Stores' shopping guides (导购): accounts and login, members' exclusive guides (bound by the guide's
mini-program code, by the guide scanning the member's code, or by the store after a payment there),
rotating member codes, the guide's tools (in-store receipts, coupon write-off, their members and
results), the WeCom 联系我 code each guide gets, and WeCom's add-contact callback.

Other areas may call: guides.guide_card / guide_card_read. A paid purchase at a store assigns one of its guides
(`purchase_followers`, in the payment's reward transaction). A receipt's points and growth go through
the ledgers under `receipt:{store}:{no}`.
"""
from services.platform.areas import Area, Periodic

AREA = Area("guides",
            periodic=(Periodic("guides.contact_ways", "services.guides.contact_ways.keep_in_step", 300),),
            purchase_followers={"guides": "services.guides.bindings.follow_purchase"})
