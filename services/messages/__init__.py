"""Subscribe messages: one-time grants, the outbox written in the business transaction, delivery.

Other areas may call: messages.enqueue / enqueue_new (inside their transaction) / granted_members /
templates, and the value formatters messages.thing / phrase / name / character_string / amount / number
/ date / time. The worker delivers after the commit and sweeps every minute.
"""
from services.platform.areas import Area, Periodic

AREA = Area("messages", periodic=(Periodic("messages.sweep", "services.messages.messages.deliver_due", 60),),
            gauges={"messages.outbox": "services.messages.messages.gauges"})
