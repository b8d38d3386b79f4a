"""The invitation boards (invites_week / invites_month): each inviter's qualified friends in Redis, flushed
and rebuilt from SQL equal."""
from datetime import datetime, timedelta

from services.index.redis_rebuild import rebuild_redis_command
from services.platform.redis_client import get_redis
from tests.support.invites import bind_phone, invite_code, invited_login
from tests.support.leaderboards import board, ids_in

BOARDS = ("invites_week", "invites_month")


def test_the_invite_boards_count_qualified_friends_and_rebuild_equal(app, client, wx, clock, named, rules, long_tokens):
    clock.freeze(datetime.fromisoformat("2032-03-10T09:00:00+08:00"))
    rules(step="phone")
    m = named("A", "B", "C")
    for letter, friends in (("A", 2), ("B", 3), ("C", 2)):
        code = invite_code(client, m[letter])
        for _ in range(friends):
            bind_phone(client, wx, invited_login(client, wx, code))
            clock.advance(timedelta(seconds=20))
    invited_login(client, wx, invite_code(client, m["C"]))  # joined, not qualified: not counted
    before = {name: board(client, m["A"], name=name) for name in BOARDS}
    assert ids_in(before["invites_week"], m) == [("B", 1, 3), ("A", 2, 2), ("C", 2, 2)]
    assert before["invites_month"]["me"]["rank"] == 2

    get_redis().flushdb()
    result = app.test_cli_runner().invoke(rebuild_redis_command)
    assert result.exit_code == 0, result.output
    assert {name: board(client, m["A"], name=name) for name in BOARDS} == before
    get_redis().flushdb()  # a missing board is rebuilt on read
    assert {name: board(client, m["A"], name=name) for name in BOARDS} == before
