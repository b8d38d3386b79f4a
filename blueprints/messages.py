"""Subscribe-message grants: /me/subscriptions."""
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from blueprints.common import current_member, idempotent, member_required
from blueprints.edge import Blueprint
from services.messages import messages

blp = Blueprint("messages", __name__, url_prefix="/me/subscriptions",
                description="Subscribe messages the member accepted")
BLUEPRINTS = (blp,)


class AcceptedSchema(Schema):
    accepted = fields.List(fields.String(validate=validate.Length(min=1, max=64)), required=True,
                           validate=validate.Length(min=1, max=10))


class TemplateGrantSchema(Schema):
    key = fields.String()
    template_id = fields.String()
    grants = fields.Integer()


class TemplatesSchema(Schema):
    templates = fields.List(fields.Nested(TemplateGrantSchema))


class GrantsSchema(Schema):
    grants = fields.Dict(keys=fields.String(), values=fields.Integer())


@blp.route("")
class Subscriptions(MethodView):
    @member_required
    @blp.response(200, TemplatesSchema)
    def get(self):
        """Every subscribe template, with the sends the member has left."""
        return {"templates": messages.grants(current_member())}

    @member_required
    @idempotent
    @blp.arguments(AcceptedSchema)
    @blp.response(200, GrantsSchema)
    def post(self, args):
        """Record the template ids the member accepted in wx.requestSubscribeMessage."""
        return {"grants": messages.record_grants(current_member(), args["accepted"])}
