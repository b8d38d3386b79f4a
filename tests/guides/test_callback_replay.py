"""Replayed callbacks: a push or WeCom event stamped outside a few minutes of the app's now is refused,
and one whose (timestamp, nonce) was seen before is answered `success` without being acted on again
(WeChat's retry, or a captured signature sent with another body); a URL verification seen before is
refused. With Redis away the nonce is not checked, but nothing answers 500."""
import hashlib
import re
from datetime import UTC, datetime, timedelta

import redis
from sqlalchemy import func, select

from models import WeComContact, db
from services.guides import customer_service
from services.platform.errors import Unavailable
from tests.support.api import assert_error, unique
from tests.support.guides import build_callback, deliver, sent_to

PUSH, WECOM = "/api/v1/wechat/callback", "/api/v1/wecom/callback"
IN_2001 = str(int(datetime(2001, 1, 1, tzinfo=UTC).timestamp()))


def _sha1(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def _push_stamped(built: dict, timestamp: str, token: str) -> dict:
    """A plain-mode push signed again, as WeChat would, for another timestamp."""
    params = {**built["params"], "timestamp": timestamp}
    params["signature"] = _sha1(token, timestamp, params["nonce"])
    return {**built, "params": params}


def _wecom_stamped(built: dict, timestamp: str, token: str) -> dict:
    """A WeCom callback signed again, as WeCom would, for another timestamp."""
    encrypt = re.search(r"<Encrypt><!\[CDATA\[(.*?)\]\]></Encrypt>", built["body"]).group(1)
    params = {**built["params"], "timestamp": timestamp}
    params["msg_signature"] = _sha1(token, timestamp, params["nonce"], encrypt)
    return {**built, "params": params}


def _push(wx) -> dict:
    """A plain-mode text push from a new user (whose customer-service window it opens)."""
    return build_callback(wx, "push", user=unique("cs"), msg_type="text", content="你好")


def _wecom_add(wx) -> dict:
    return build_callback(wx, "wecom/add-external-contact", userid=unique("staff").replace("-", "_"), user=unique("wecom"))


def _recorded(event: dict) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(WeComContact).where(
        WeComContact.external_userid == event["external_userid"]))


def _success(res) -> bool:
    return res.status_code == 200 and res.get_data(as_text=True) == "success"


def test_a_captured_push_sent_again_with_another_body_is_not_acted_on(client, wx):
    captured, other = _push(wx), _push(wx)
    assert _success(deliver(client, captured, PUSH))
    assert len(sent_to(wx, captured["openid"])) == 1
    replayed = {**other, "params": captured["params"]}  # plain mode: the signature does not cover the body
    assert _success(deliver(client, replayed, PUSH))
    assert sent_to(wx, other["openid"]) == []  # was answered: anyone could make the app write to anyone
    assert _success(deliver(client, other, PUSH))  # the member's own push still is
    assert len(sent_to(wx, other["openid"])) == 1


def test_a_push_stamped_in_2001_or_outside_the_apps_window_is_refused(app, client, wx, clock):
    built = _push(wx)
    assert_error(deliver(client, _push_stamped(built, IN_2001, app.config["WECHAT_TOKEN"]), PUSH), 403)
    clock.advance(timedelta(minutes=6))
    assert_error(deliver(client, built, PUSH), 403)
    assert sent_to(wx, built["openid"]) == []
    clock.advance(timedelta(minutes=-2))  # four minutes apart: within the window
    assert _success(deliver(client, built, PUSH))
    assert len(sent_to(wx, built["openid"])) == 1
    verify = build_callback(wx, "push/verify")
    assert_error(deliver(client, _push_stamped(verify, IN_2001, app.config["WECHAT_TOKEN"]), PUSH), 403)


def test_a_verification_sent_again_is_refused_and_its_signature_acts_on_no_push(client, wx):
    verify = build_callback(wx, "push/verify")
    assert deliver(client, verify, PUSH).get_data(as_text=True) == verify["echostr"]
    assert_error(deliver(client, verify, PUSH), 403)
    push = _push(wx)
    signed_as_the_verification = {**push, "params": {name: verify["params"][name]
                                                     for name in ("signature", "timestamp", "nonce")}}
    assert _success(deliver(client, signed_as_the_verification, PUSH))
    assert sent_to(wx, push["openid"]) == []


def test_a_push_whose_handling_failed_is_handled_when_wechat_sends_it_again(client, wx, monkeypatch):
    built = _push(wx)

    def unavailable(message):
        raise Unavailable()

    monkeypatch.setattr(customer_service, "handle_push", unavailable)
    assert_error(deliver(client, built, PUSH), 503)
    monkeypatch.undo()
    assert _success(deliver(client, built, PUSH))
    assert len(sent_to(wx, built["openid"])) == 1


def test_a_wecom_event_sent_again_is_recorded_once_and_a_stale_or_altered_one_refused(app, client, wx):
    event = _wecom_add(wx)
    assert _success(deliver(client, event, WECOM))
    assert _success(deliver(client, event, WECOM))  # WeCom's retry, or a replay
    assert _recorded(event) == 1  # was 2
    other = _wecom_add(wx)
    assert_error(deliver(client, {**other, "params": event["params"]}, WECOM), 403)  # the body is signed
    assert_error(deliver(client, _wecom_stamped(other, IN_2001, app.config["WECOM_TOKEN"]), WECOM), 403)
    assert _recorded(other) == 0
    assert _success(deliver(client, other, WECOM))
    assert _recorded(other) == 1


def test_a_wecom_verification_sent_again_or_stamped_in_2001_is_refused(app, client, wx):
    verify = build_callback(wx, "wecom/verify-url")
    assert deliver(client, verify, WECOM).get_data(as_text=True) == verify["echostr_plain"]
    assert_error(deliver(client, verify, WECOM), 403)
    fresh = build_callback(wx, "wecom/verify-url")
    encrypted = fresh["params"]["echostr"]
    params = {**fresh["params"], "timestamp": IN_2001,
              "msg_signature": _sha1(app.config["WECOM_TOKEN"], IN_2001, fresh["params"]["nonce"], encrypted)}
    assert_error(deliver(client, {**fresh, "params": params}, WECOM), 403)


def test_with_redis_away_fresh_callbacks_are_handled_and_stale_ones_still_refused(app, client, wx, monkeypatch):
    push, event, verify = _push(wx), _wecom_add(wx), build_callback(wx, "push/verify")
    stale = _push_stamped(_push(wx), IN_2001, app.config["WECHAT_TOKEN"])
    monkeypatch.setitem(app.extensions, "redis", redis.Redis(port=1, socket_connect_timeout=0.5))
    assert _success(deliver(client, push, PUSH))
    assert _success(deliver(client, event, WECOM))
    assert deliver(client, verify, PUSH).get_data(as_text=True) == verify["echostr"]
    assert_error(deliver(client, stale, PUSH), 403)
    monkeypatch.undo()
    assert len(sent_to(wx, push["openid"])) == 1 and _recorded(event) == 1
