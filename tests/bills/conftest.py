"""Each bill test has a WeChat sandbox, a database and a Redis of its own: WeChat Pay's bill of a day
lists every trade of the merchant that day, and reconciling it settles, refunds or flags each one, so
no other test's payments may be on it."""
import pytest

from sandbox.server import SandboxServer
from tests.support.apps import app_of_its_own


@pytest.fixture
def sandbox():
    with SandboxServer() as server:
        yield server


@pytest.fixture
def app(sandbox):
    yield from app_of_its_own(sandbox, "bills", redis_db_below=2)
