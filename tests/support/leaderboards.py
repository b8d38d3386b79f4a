"""Leaderboards in tests: earn points, read a board."""
from services.ledger import points
from services.platform.db import transaction
from tests.support.api import unique


def earn(member, amount):
    with transaction():
        points.earn(member["member"]["id"], amount, reason="test", business_key=unique("lb-earn"))


def board(client, member, name="points_week", **params):
    res = client.get(f"/api/v1/leaderboards/{name}", headers=member["headers"], query_string=params)
    assert res.status_code == 200, res.get_json()
    return res.get_json()


def ids_in(answer, members):
    """The answer's items as (rank, score), for the given members in listed order (by nickname)."""
    names = {m["nickname"]: key for key, m in members.items()}
    return [(names[i["member"]["nickname"]], i["rank"], i["score"]) for i in answer["items"]
            if i["member"]["nickname"] in names]
