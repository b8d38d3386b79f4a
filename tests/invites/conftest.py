"""What the invitation tests share: an operator, an inviter, and rules switched off after each test."""
import pytest

from tests.support.invites import set_rules


@pytest.fixture
def admin(operator):
    return operator()


@pytest.fixture
def rules(client, admin, clock):
    """set_rules(**fields): a new active set; after the test the programme is switched off again."""
    yield lambda **fields: set_rules(client, admin, **fields)
    clock.reset()  # the operator's token was issued at real time
    set_rules(client, admin, enabled=False)


@pytest.fixture
def inviter(make_member):
    return make_member()
