"""WeChat's and WeCom's callbacks: the mini-program's message push (customer service) and WeCom's
external-contact events. Both answer at once: WeChat sends a push again after 5 s without an answer.
Each is refused outside a few minutes of now, and a (timestamp, nonce) seen before is not acted on
again (services/platform/replay_guard.py)."""
import logging

from flask import Response, request

from blueprints.edge import Blueprint
from services.guides import contact_ways, customer_service
from services.platform import metrics, replay_guard
from services.platform.errors import Forbidden, InvalidRequest
from services.wechat import miniprogram, wecom

log = logging.getLogger(__name__)

wechat_blp = Blueprint("wechat_callback", __name__, url_prefix="/wechat", description="WeChat message push")
wecom_blp = Blueprint("wecom_callback", __name__, url_prefix="/wecom", description="WeCom callbacks")
BLUEPRINTS = (wechat_blp, wecom_blp)

TEXT = {"responses": {"200": {"description": "plain text", "content": {"text/plain": {"schema": {"type": "string"}}}}}}


def _text(body: str) -> Response:
    return Response(body, mimetype="text/plain")


def _query(*names: str) -> dict:
    values = {name: request.args.get(name, "") for name in names}
    if any(len(value) > 512 for value in values.values()):
        raise InvalidRequest("A query parameter is too long.")
    return values


def _signed_by_wechat(*names: str) -> dict:
    """The query of a push request, with `names`, when its signature is WeChat's (Forbidden otherwise)."""
    args = _query("signature", "timestamp", "nonce", *names)
    if not miniprogram.push_signature_ok(signature=args["signature"], timestamp=args["timestamp"], nonce=args["nonce"]):
        metrics.count_notify("wechat", "invalid")
        raise Forbidden("Bad signature.")
    return args


def _handled_once(source: str, args: dict, handle, item) -> Response:
    """`handle(item)` unless this (timestamp, nonce) was handled before (a retry or a replay); `success`."""
    with replay_guard.once(source, args["timestamp"], args["nonce"]) as first:
        if first:
            handle(item)
    metrics.count_notify(source, "handled" if first else "replayed")
    return _text("success")


@wechat_blp.route("/callback", methods=["GET"])
@wechat_blp.doc(**TEXT)
def wechat_verify():
    """The push URL's verification: echostr back when the signature is WeChat's."""
    args = _signed_by_wechat("echostr")
    replay_guard.refuse_replay("wechat", args["timestamp"], args["nonce"])
    return _text(args["echostr"])


@wechat_blp.route("/callback", methods=["POST"])
@wechat_blp.doc(**TEXT)
def wechat_push():
    """A message push (plain or safe mode, XML or JSON): a member entering customer service or writing
    to it is answered with their guide's QR. Answers `success`."""
    args = _signed_by_wechat("encrypt_type", "msg_signature")
    replay_guard.refuse_stale(args["timestamp"])
    try:
        message = miniprogram.parse_push(request.get_data(cache=False), args)
    except miniprogram.InvalidNotification as exc:
        log.warning("%s", exc)
        metrics.count_notify("wechat", "invalid")
        raise InvalidRequest("The message could not be read.") from exc
    # one nonce space with the GET: its signature is the same sha1, so a captured verification passes here
    return _handled_once("wechat", args, customer_service.handle_push, message)


@wecom_blp.route("/callback", methods=["GET"])
@wecom_blp.doc(**TEXT)
def wecom_verify():
    """WeCom's URL verification: the decrypted echostr."""
    args = _query("msg_signature", "timestamp", "nonce", "echostr")
    try:
        echoed = wecom.echo(**args)
    except wecom.InvalidNotification as exc:
        raise Forbidden("Bad signature.") from exc
    replay_guard.refuse_replay("wecom", args["timestamp"], args["nonce"])
    return _text(echoed)


@wecom_blp.route("/callback", methods=["POST"])
@wecom_blp.doc(**TEXT)
def wecom_event():
    """WeCom's encrypted change_external_contact events: an add through a guide's 联系我 code binds the
    member (by unionid) to the guide if unbound; every change is recorded. Answers `success`."""
    args = _query("msg_signature", "timestamp", "nonce")
    try:
        event = wecom.parse_event(request.get_data(cache=False), **args)
    except wecom.InvalidNotification as exc:
        log.warning("%s", exc)
        metrics.count_notify("wecom", "invalid")
        raise Forbidden("Bad signature.") from exc
    return _handled_once("wecom", args, contact_ways.handle_event, event)
