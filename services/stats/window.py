"""The span of time a figure counts over: a business day, or everything before one."""
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from services.platform import clock

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Window:
    """The instants [start, end); start None: since the beginning of the books."""

    start: datetime | None
    end: datetime

    @classmethod
    def day(cls, day: date) -> "Window":
        return cls(clock.start_of_day(day), clock.start_of_day(day + ONE_DAY))

    @classmethod
    def days(cls, first: date, last: date) -> "Window":
        """From the start of `first` to the end of `last`."""
        return cls(clock.start_of_day(first), clock.start_of_day(last + ONE_DAY))

    @classmethod
    def before(cls, day: date) -> "Window":
        return cls(None, clock.start_of_day(day))

    def of(self, column) -> list:
        """The conditions that bound `column` (an indexed time column) to the window."""
        return ([column >= self.start] if self.start is not None else []) + [column < self.end]


def each_day(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
