"""The member's points ledger."""
from flask import g
from flask.views import MethodView

from blueprints.common import member_required, paged
from blueprints.edge import Blueprint
from blueprints.schemas import LedgerEntrySchema
from services.ledger import points

blp = Blueprint("ledger", __name__, url_prefix="/points", description="Points")
BLUEPRINTS = (blp,)


@blp.route("/ledger")
class Ledger(MethodView):
    @member_required
    @paged(blp, LedgerEntrySchema, "LedgerPage")
    def get(self, args):
        """Every points movement of the member, newest first."""
        return points.find_entries(g.card.id, limit=args["limit"], cursor=args["cursor"])
