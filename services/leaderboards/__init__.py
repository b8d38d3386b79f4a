"""Leaderboards: points_week, points_month, streak and invites_week / invites_month boards in Redis, with
masked names.

Other areas may call: leaderboards.note_points_earned (after an earn), leaderboards.note_invite_qualified
(a friend qualified), leaderboards.record_streak_after_commit (after a sign-in), standings.profile_changed
(a nickname or avatar changed), standings.mask (a name as boards show it). The streak board's rows come
from the sign-in area's board source, the invitation boards' from the invites area's.
"""
from services.platform.areas import Area

AREA = Area("leaderboards",
            rebuilders={"leaderboards": "services.leaderboards.leaderboards.rebuild_boards",
                        "leaderboard_names": "services.leaderboards.standings.rebuild_names"},
            repairers={"leaderboards": "services.leaderboards.leaderboards.repair_boards",
                       "leaderboard_name": "services.leaderboards.standings.repair_name"})
