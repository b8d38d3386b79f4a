"""Output schemas more than one area shows: members, levels, points, rewards, tokens."""
from marshmallow import Schema, fields


class LevelBriefSchema(Schema):
    code = fields.String(allow_none=True)
    name = fields.String(allow_none=True)


class LevelProgressSchema(LevelBriefSchema):
    growth = fields.Integer()
    next_level = fields.String(allow_none=True)
    next_threshold = fields.Integer(allow_none=True)
    growth_to_next = fields.Integer(allow_none=True)


class RewardFieldsSchema(Schema):
    """What a reward pays (a sign-in day, a milestone, a task)."""

    points = fields.Integer()
    growth = fields.Integer()
    coupon_pack_id = fields.Integer(allow_none=True)


class TokenSchema(Schema):
    """A bearer token and the seconds it lasts."""

    token = fields.String()
    expires_in = fields.Integer()


class ExpiringSchema(Schema):
    points = fields.Integer()
    expires_at = fields.DateTime()


class PointsSummarySchema(Schema):
    balance = fields.Integer()
    frozen = fields.Integer()
    available = fields.Integer()
    expiring = fields.List(fields.Nested(ExpiringSchema))


class MemberFieldsSchema(Schema):
    id = fields.Integer(attribute="member.id")
    nickname = fields.String(attribute="member.nickname")
    avatar_url = fields.String(attribute="member.avatar_url")


class MemberBriefSchema(MemberFieldsSchema):
    """The member card: who, which level, how many points available."""

    level = fields.Nested(LevelBriefSchema)
    points = fields.Integer()


class MemberProfileSchema(MemberFieldsSchema):
    phone = fields.String(attribute="member.phone", allow_none=True)
    birthday = fields.Date(attribute="member.birthday", allow_none=True)
    gender = fields.Integer(attribute="member.gender")
    status = fields.String(attribute="member.status")
    created_at = fields.DateTime(attribute="member.created_at")
    level = fields.Nested(LevelProgressSchema)
    points = fields.Nested(PointsSummarySchema)
    guide = fields.Dict(allow_none=True)


class LedgerEntrySchema(Schema):
    id = fields.Integer()
    delta = fields.Integer()
    kind = fields.String()
    reason = fields.String()
    reference = fields.String(allow_none=True)
    balance_after = fields.Integer()
    created_at = fields.DateTime()
    expires_at = fields.DateTime(allow_none=True)
