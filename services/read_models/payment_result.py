"""A payment as the pay result page shows it: the payment and, once its rewards are paid, what it
earned and the member's exclusive guide to add."""
from services.guides import guides
from services.payments import payments


def payment_result(member_id: int, payment_id: int) -> dict:
    """One of the member's payments (someone else's is not found) and its rewards, None until paid."""
    payment = payments.get_member_payment(member_id, payment_id)
    if not payment.rewarded_at:
        return {"payment": payment, "rewards": None}
    return {"payment": payment, "rewards": {
        "points_awarded": payment.points_awarded, "growth_awarded": payment.growth_awarded,
        "coupon_codes": payment.coupon_codes or [], "guide": guides.guide_card(member_id)}}
