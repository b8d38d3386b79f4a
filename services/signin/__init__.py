"""Daily sign-in: sign in, make up a missed day, versioned rules, the calendar, badges and reminders.

Other areas may call: rules.rules_for / in_force (what a day pays); signin_index.current_streaks
(the streak board's rows). Owns the sign-in keys in Redis (`signin:{m:…}:…`), their rebuild and repair,
and the reminder job (every 10 minutes).
"""
from services.platform.areas import Area, Periodic

AREA = Area("signin",
            periodic=(Periodic("signin.remind", "services.signin.signin.remind_unsigned", 600),),
            rebuilders={"signin": "services.signin.signin_index.rebuild_calendars"},
            repairers={"signin": "services.signin.signin_index.rebuild_member"},
            board_sources={"streak": "services.signin.signin_index.current_streaks"})
