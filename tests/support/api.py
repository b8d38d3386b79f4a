"""Calling the API in tests: unique names, bearer headers, raw sends and the error envelope."""
import itertools
import os

_serial = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}-{os.getpid()}-{next(_serial)}"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def send(client, method: str, path: str, body, headers: dict):
    """A request whose body is JSON, or raw text sent as JSON (to test malformed bodies)."""
    kwargs = {"headers": dict(headers)}
    if isinstance(body, str):
        kwargs["data"], kwargs["content_type"] = body, "application/json"
    elif body is not None:
        kwargs["json"] = body
    return getattr(client, method)(path, **kwargs)


def assert_error(res, status: int) -> dict:
    """The answer is `status` with the contract's error envelope; returns the error."""
    assert res.status_code == status, res.get_data(as_text=True)
    error = res.get_json()["error"]
    assert set(error) == {"code", "message", "details"} and error["code"] and error["message"]
    return error
