"""Subscribe messages: one-time grants, the outbox written in the business transaction, delivery.

Other areas may call: messages.enqueue (inside their transaction) and the value formatters
(thing, phrase, amount, date, …). The worker delivers after the commit and sweeps every minute.
"""
from services.platform.areas import Area, Periodic

AREA = Area("messages", periodic=(Periodic("messages.sweep", "services.messages.messages.deliver_due", 60),))
