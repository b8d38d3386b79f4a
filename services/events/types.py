"""Every member event type, in one place: which service emits it, and whether (and how often) the
mini-program may report it itself through POST /events."""
from dataclasses import dataclass


@dataclass(frozen=True)
class EventType:
    client: bool = False  # the client may report it (POST /events)
    daily_cap: int | None = None  # client reports counted per member per business day, at most
    min_duration_s: int | None = None  # a client report must say it lasted this long


EVENT_TYPES = {
    # emitted by the services, inside their own transactions
    "signin": EventType(),  # services/signin/signin.py: sign_in
    "signin_makeup": EventType(),  # services/signin/signin.py: make_up
    "payment_paid": EventType(),  # services/payments/rewards.py: reward (payload: amount_fen, store_id)
    "profile_completed": EventType(),  # services/members/members.py: nickname, avatar and birthday set, once
    "phone_bound": EventType(),  # services/members/members.py: bind_phone, once
    "coupon_used": EventType(),  # services/coupons/coupons.py: use_held, redeem
    "newbie_step": EventType(),  # services/tasks/claims.py: a newbie reward claimed (the chain's bonus counts them)
    "mall_redeemed": EventType(),  # services/mall/orders.py: an order paid (at once in points, or by its notify)
    "lottery_drawn": EventType(),  # services/mall/lotteries.py: draw
    "guide_bound": EventType(),  # services/guides/bindings.py: a member's first exclusive guide
    "invite_accepted": EventType(),  # services/invites/invitations.py: a friend joined through the member's card
    "invite_qualified": EventType(),  # services/invites/rewards.py: a friend qualified and the member was rewarded
    # reported by the mini-program
    "share": EventType(client=True, daily_cap=5),
    "browse_goods": EventType(client=True, daily_cap=10, min_duration_s=15),
    "view_article": EventType(client=True, daily_cap=10),
}
CLIENT_TYPES = tuple(name for name, kind in EVENT_TYPES.items() if kind.client)
