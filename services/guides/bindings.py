"""A member's exclusive guide: the first binding wins and lasts; every binding is recorded with how
and when, and emits `guide_bound` for the task centre."""
from sqlalchemy import select

from models import Guide, GuideBinding, GuideBindingChange, db
from services.payments import stores
from services.platform import clock
from services.platform.db import get_row, insert_once, transaction

from services import events


def bind(member_id: int, guide: Guide, how: str) -> GuideBinding:
    """Bind the member to the guide unless they have one (inside the caller's transaction); the binding
    that holds. A parallel first binding is waited for, not raced: one wins."""
    binding_id = insert_once(GuideBinding.__table__, key="member_id", member_id=member_id, guide_id=guide.id, how=how,
                             bound_at=clock.now())
    if binding_id is not None:
        db.session.add(GuideBindingChange(member_id=member_id, from_guide_id=None, to_guide_id=guide.id, how=how,
                                          created_at=clock.now()))
        events.emit(member_id, "guide_bound", business_key=f"guide_bound:{member_id}", reference=f"guide:{guide.id}",
                    payload={"guide_id": guide.id, "how": how})
    return db.session.scalar(select(GuideBinding).where(GuideBinding.member_id == member_id)
                             .execution_options(populate_existing=True))


def bindable(guide: Guide | None) -> bool:
    """Whether members may be bound to the guide: an active guide of an active store."""
    return guide is not None and guide.status == "active" and stores.find_store(guide.store_id).active


def bind_by_guide_code(member_id: int, guide_id: int) -> None:
    """The member scanned a guide's mini-program code: that guide, if bindable and the member has none."""
    guide = get_row(Guide, guide_id, missing="No such guide.")
    if bindable(guide):
        with transaction():
            bind(member_id, guide, "guide_code")


def follow_purchase(member_id: int, payment) -> None:
    """A paid purchase at a store (`purchase_followers`, in its reward transaction) assigns a guide there."""
    if payment.store_id:
        assign_by_store(member_id, payment.store_id)


def assign_by_store(member_id: int, store_id: int) -> None:
    """After a paid purchase at a store, a member without a guide gets one of its active guides, in turn."""
    if db.session.scalar(select(GuideBinding.id).where(GuideBinding.member_id == member_id)):
        return
    guide_ids = list(db.session.scalars(select(Guide.id).where(Guide.store_id == store_id, Guide.status == "active")
                                        .order_by(Guide.id)))
    if not guide_ids:
        return
    turn = stores.take_turn(store_id)
    bind(member_id, db.session.get(Guide, guide_ids[(turn - 1) % len(guide_ids)]), "store_assigned")
