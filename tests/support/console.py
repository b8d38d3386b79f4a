"""The operator console through HTTP: an operator signed in (a test client holding the session cookie),
and the CSRF token a page carries."""
import re

from services.members import operators
from tests.support.api import unique

PASSWORD = "correct horse battery"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def new_operator(role: str = "admin") -> str:
    username = unique("con")
    operators.create_operator(username=username, password=PASSWORD, role=role)
    return username


def csrf_token(page_html: str) -> str:
    return TOKEN.search(page_html).group(1)


def signed_in(app, role: str = "admin"):
    """A test client signed in to the console as a new operator of `role`, and its CSRF token."""
    client = app.test_client()
    token = csrf_token(client.get("/console/login").get_data(as_text=True))
    answer = client.post("/console/login", data={"username": new_operator(role), "password": PASSWORD,
                                                 "csrf_token": token})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    # signing in starts a new session, and with it a new token
    return client, csrf_token(client.get("/console/goods").get_data(as_text=True))
