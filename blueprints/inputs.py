"""Fields every area's input schemas share: what a client may send as text matching a pattern, an
instant, a day, an id, an amount of money, an operator's reason, a list's filter."""
from datetime import UTC, date, datetime

from marshmallow import ValidationError, fields, validate

from services.platform.db import MAX_ID


class Pattern(validate.Regexp):
    r"""validate.Regexp over the whole text. Regexp uses re.match, whose `$` also matches before a final
    newline: "R1\n" passed ^[0-9A-Za-z_-]{1,64}$, overflowed columns and made a second receipt of "R1"."""

    def __call__(self, value):
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


# Years near 1 or 9999 overflow once turned into UTC or a business day (500s), and no rule, sale or
# report of this service reaches outside this century.
INSTANTS = validate.Range(min=datetime(2000, 1, 1, tzinfo=UTC), max=datetime(2100, 1, 1, tzinfo=UTC))
DAYS = validate.Range(min=date(2000, 1, 1), max=date(2099, 12, 31))


class Instant(fields.AwareDateTime):
    """An aware date-time within INSTANTS: every date-time a client sends."""

    def __init__(self, **kwargs):
        super().__init__(validate=INSTANTS, **kwargs)


class Day(fields.Date):
    """A date within DAYS: every date a client sends but a birthday."""

    def __init__(self, **kwargs):
        super().__init__(validate=DAYS, **kwargs)


class Id(fields.Integer):
    """The id of a row a client names: 1…MAX_ID (a larger one overflows the column). In a body a JSON
    integer; in a query string (strict=False) its digits."""

    def __init__(self, *, strict: bool = True, **kwargs):
        super().__init__(strict=strict, validate=validate.Range(min=1, max=MAX_ID), **kwargs)


MAX_FEN = 100_000_000  # one million yuan: above any purchase, refund or price, far below the columns' limit


class Fen(fields.Integer):
    """An amount of money a client sends: a JSON integer of fen, `minimum`…MAX_FEN."""

    def __init__(self, *, minimum: int = 1, **kwargs):
        super().__init__(strict=True, validate=validate.Range(min=minimum, max=MAX_FEN), **kwargs)


class Reason(fields.String):
    """Why an operator did something by hand (points, growth, coupons, a refund, a member's status), for the
    audit log: 2 to 255 characters."""

    def __init__(self, **kwargs):
        super().__init__(required=True, validate=validate.Length(min=2, max=255), **kwargs)


class Filter(fields.String):
    """A list's optional filter in the query string: one of `choices`; absent, None (no filter)."""

    def __init__(self, choices, **kwargs):
        super().__init__(load_default=None, validate=validate.OneOf(choices), **kwargs)
