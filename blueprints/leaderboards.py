"""Leaderboards: the top members of a board (names masked) and the member's own rank."""
from flask import g, request
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from blueprints.common import dumped, member_reading, query_args
from blueprints.edge import Blueprint
from services.leaderboards import standings

blp = Blueprint("leaderboards", __name__, url_prefix="/leaderboards", description="Leaderboards")
BLUEPRINTS = (blp,)


class BoardArgsSchema(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=100))


class BoardMemberSchema(Schema):
    nickname = fields.String()
    avatar_url = fields.String()


class BoardItemSchema(Schema):
    rank = fields.Integer()
    member = fields.Nested(BoardMemberSchema)
    score = fields.Integer()


class MyStandingSchema(Schema):
    rank = fields.Integer(allow_none=True, metadata={"description": "null when not on the board"})
    score = fields.Integer()


class StandingsSchema(Schema):
    items = fields.List(fields.Nested(BoardItemSchema))
    me = fields.Nested(MyStandingSchema)


def _board_reads(member_id):
    try:
        limit = int(request.args.get("limit", "50"))  # as the arguments' schema reads it ("١" is 1, "²" nothing)
    except ValueError:
        return []  # the arguments' validation answers 422
    if not 1 <= limit <= 100:
        return []
    return standings.prefetch_calls(request.view_args["board"], member_id, limit)


@blp.route("/<string:board>")
class Standings(MethodView):
    @member_reading(_board_reads)
    @query_args(BoardArgsSchema)
    @blp.response(200, StandingsSchema)
    @blp.alt_response(404, schema="Error", description="No such board")
    def get(self, args, board):
        """The top of a board (points_week, points_month, streak, invites_week, invites_month), and the own rank."""
        return dumped(standings.standings(board, g.card.id, limit=args["limit"], fetched=g.prefetched))
