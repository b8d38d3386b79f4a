"""Business rules and transactions, one package per area; the only code that writes.

AREAS is the one list of areas: create_app wires what each contributes (periodic jobs, Redis
rebuilders and repairs, audit checks, leaderboard sources), so the web app, the worker and the CLI
all run the same set. An area missing here contributes nothing (tests/platform/test_wiring.py).
"""
from services import (coupons, guides, index, invites, leaderboards, ledger, levels, mall, members, messages, payments,
                      platform, signin, stats, tasks)

AREAS = (platform.AREA, index.AREA, leaderboards.AREA, messages.AREA, members.AREA, ledger.AREA, coupons.AREA, levels.AREA,
         tasks.AREA, signin.AREA, payments.AREA, guides.AREA, invites.AREA, mall.AREA, stats.AREA)
