"""The SQL schema: typed models whose constraints protect the invariants of DESIGN.md."""
from datetime import UTC, datetime

from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import JSON, DateTime, MetaData, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, registry

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in and out, whatever the backend keeps (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime given to a UTC column")
            value = value.astimezone(UTC)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    registry = registry(metadata=MetaData(naming_convention=NAMING_CONVENTION),
                        type_annotation_map={datetime: UTCDateTime, dict: JSON, list: JSON})


PINNED_BIND = "pinned_bind"  # session.info key: the engine every statement of the session goes to


class Session(FlaskSession):
    """db.session: Flask-SQLAlchemy's, which can be pinned to one engine (report reads pin it to the read
    replica, services/platform/replica.py): while session.info[PINNED_BIND] holds one, every statement,
    lazy load and refresh goes there."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        pinned = self.info.get(PINNED_BIND)
        if pinned is not None and bind is None:
            return pinned
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


db = SQLAlchemy(model_class=Base, session_options={"class_": Session})


def one_of(column: str, values: tuple[str, ...]) -> str:
    """A CHECK condition: the column holds one of the values."""
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


from models.member import Member  # noqa: E402,F401
from models.level import Level, LevelChange, LevelEvaluation, LevelGift, LevelPolicy  # noqa: E402,F401
from models.points import PointsAccount, PointsAllocation, PointsEntry, PointsHold, PointsLot  # noqa: E402,F401
from models.growth import GrowthAccount, GrowthEntry  # noqa: E402,F401
from models.operator import AuditLog, Operator  # noqa: E402,F401
from models.idempotency import IdempotencyRecord  # noqa: E402,F401
import models.coupon  # noqa: E402,F401
import models.message  # noqa: E402,F401
from models.payment import BillReconciliation, Payment, PaymentRule, Refund, Store  # noqa: E402,F401
from models.event import MemberEvent  # noqa: E402,F401
import models.signin  # noqa: E402,F401
from models.redis_repair import RedisRepair  # noqa: E402,F401
from models.audit_run import AuditRun  # noqa: E402,F401
from models.task import Task, TaskClaim  # noqa: E402,F401
from models.lottery import Lottery, LotteryDraw, LotteryPrize  # noqa: E402,F401
from models.mall import Goods, MallOrder, VirtualCode  # noqa: E402,F401
from models.guide import (Guide, GuideBinding, GuideBindingChange, GuideScan, GuideTarget, MemberCodeSecret,  # noqa: E402,F401
                          StorePurchase, WeComContact)
from models.stats import DailyFigures  # noqa: E402,F401
from models.invite import Invitation, InviteRefusal, InviteRule  # noqa: E402,F401
