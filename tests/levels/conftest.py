"""Each level test has a database and a Redis of its own: the level policy is the brand's one setting,
and an evaluation lowers every member it finds, so no test may share them with another."""
import pytest

from tests.support.apps import app_of_its_own


@pytest.fixture
def app(sandbox):
    yield from app_of_its_own(sandbox, "levels", redis_db_below=1)
