"""The daily figures (GET /admin/stats): what the programme did each business day, read from the ledgers
and the records of every area below (members, sign-ins, points, growth, tasks, the lottery, payments,
refunds, the mall, coupons, guides, invitations), rolled up into one stored row a day (rollup.py), the cohorts'
returns, and the report of a range (report.py).

Other areas may call nothing here: the HTTP layer reads the report. The worker rolls up yesterday and
the days before it that may still move, hourly; `rollup-stats` recomputes any past day; audit-ledger
checks the stored rows against the books (audit.py).
"""
from services.platform.areas import Area, Periodic

AREA = Area("stats",
            periodic=(Periodic("stats.rollup", "services.stats.rollup.roll_due", 3600),),
            audit_checks={"stats": "services.stats.audit.audit_problems"})
