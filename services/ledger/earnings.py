"""Points and growth earned together for one thing (a sign-in, a task, a purchase, a receipt): an entry
in each ledger under the same business key, each only when its amount is not zero."""
from services.ledger import growth, points


def earn(member_id: int, *, points_: int, growth_: int, reason: str, business_key: str, reference: str,
         new_key: bool = False) -> None:
    """Inside the caller's transaction; a repeat of the key earns nothing more (`new_key`: see points.earn)."""
    if points_:
        points.earn(member_id, points_, reason=reason, business_key=business_key, reference=reference, new_key=new_key)
    if growth_:
        growth.earn(member_id, growth_, reason=reason, business_key=business_key, reference=reference, new_key=new_key)
