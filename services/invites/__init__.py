"""Invitations (邀请有礼): a member's invite code, share card and mini-program code; the invitation a
friend's first login through it records; the friend's qualifying step and both sides' rewards; the
operators' versioned rules and the refusals they read.

Other areas may call nothing here: the areas below reach it through what it contributes. A login
carrying an inviter's code (`referral_followers`) records the invitation only when that login created
the member, or refuses it (yourself, an existing member, a cycle, a frozen inviter, too many invited
logins from one address), counted per reason. The friend's qualifying step arrives as the member event
it records (`event_followers`: phone_bound, signin, payment_paid), inside that step's transaction; the
friend's gift and the inviter's reward (under the daily and monthly caps, counted under the inviter's
lock) are paid once each under `invite:{id}:friend` / `invite:{id}:inviter`. A qualifying payment
refunded in full within the window takes the inviter's reward back (`refund_followers`). Invitations
not qualified in their window expire (hourly); audit-ledger checks every reward against its invitation.
The leaderboards' invites_week / invites_month boards count each inviter's qualified friends (rows from
boards.py, written after the commit of each qualification).
"""
from services.platform.areas import Area, Periodic

AREA = Area("invites",
            periodic=(Periodic("invites.expire", "services.invites.rewards.expire_due", 3600),),
            audit_checks={"invites": "services.invites.audit.audit_problems"},
            board_sources={"invites_week": "services.invites.boards.week_rows",
                           "invites_month": "services.invites.boards.month_rows"},
            event_followers={"invites": "services.invites.rewards.follow_event"},
            refund_followers={"invites": "services.invites.rewards.follow_refund"},
            referral_followers={"invites": "services.invites.invitations.accept"})
