"""The sandbox's WeCom API, WeCom callbacks and mini-program message pushes, driven through
wechatpy as the app drives them, and the customer-service window they open."""
import http.server
import json
import threading
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from wechatpy import WeChatClient
from wechatpy.crypto import WeChatCrypto
from wechatpy.enterprise import WeChatClient as WeComClient
from wechatpy.enterprise.crypto import WeChatCrypto as WeComCrypto
from wechatpy.exceptions import InvalidSignatureException, WeChatClientException
from wechatpy.utils import check_signature

from sandbox import (
    SANDBOX_APPID,
    SANDBOX_ORIGINAL_ID,
    SANDBOX_SECRET,
    SANDBOX_WECHAT_AES_KEY,
    SANDBOX_WECHAT_TOKEN,
    SANDBOX_WECOM_AES_KEY,
    SANDBOX_WECOM_CORP_ID,
    SANDBOX_WECOM_SECRET,
    SANDBOX_WECOM_TOKEN,
)
from sandbox.server import SandboxServer


@pytest.fixture(scope="module")
def server():
    # its own sandbox: these tests reset it and move its clock
    with SandboxServer() as sandbox:
        yield sandbox


@pytest.fixture
def ctl(server):
    requests.post(server.url + "sandbox/reset", timeout=10).raise_for_status()

    class Control:
        url = server.url

        def post(self, path, expect=200, **payload):
            res = requests.post(f"{server.url}sandbox/{path}", json=payload, timeout=10)
            assert res.status_code == expect, res.text
            return res.json()

        def get(self, path, **params):
            res = requests.get(f"{server.url}sandbox/{path}", params=params, timeout=10)
            res.raise_for_status()
            return res.json()

    return Control()


class SandboxWeCom(WeComClient):
    """As the app does: the base URL changed and the hard-coded gettoken URL with it."""

    def fetch_access_token(self):
        return self._fetch_access_token(url=f"{self.API_BASE_URL}gettoken",
                                        params={"corpid": self.corp_id, "corpsecret": self.secret})


class SandboxMp(WeChatClient):
    def fetch_access_token(self):
        res = self._http.post(f"{self.API_BASE_URL}stable_token", json={
            "grant_type": "client_credential", "appid": self.appid, "secret": self.secret,
            "force_refresh": False}, timeout=10)
        result = self._handle_result(res)
        self.session.set(self.access_token_key, result["access_token"], result["expires_in"])
        return result


def wecom(ctl, secret=SANDBOX_WECOM_SECRET, corp_id=SANDBOX_WECOM_CORP_ID, **kwargs):
    client = SandboxWeCom(corp_id, secret, timeout=10, **kwargs)
    client.API_BASE_URL = ctl.url + "cgi-bin/"
    return client


def mp(ctl):
    client = SandboxMp(SANDBOX_APPID, SANDBOX_SECRET, timeout=10)
    client.API_BASE_URL = ctl.url + "cgi-bin/"
    client.wxa.API_BASE_URL = ctl.url
    return client


def errcode(call, *args, **kwargs):
    with pytest.raises(WeChatClientException) as exc:
        call(*args, **kwargs)
    return exc.value.errcode


def fields(xml):
    doc = ET.fromstring(xml)
    assert doc.tag == "xml"
    return {child.tag: child.text or "" for child in doc}


@pytest.fixture
def receiver():
    """A tiny HTTP server recording requests; answers "success", or the echo it is told to."""
    seen, echo = [], {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self, text):
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(text.encode())

        def do_POST(self):
            length = int(self.headers["Content-Length"])
            seen.append({"method": "POST", "path": self.path, "body": self.rfile.read(length),
                         "content_type": self.headers["Content-Type"]})
            self._answer("success")

        def do_GET(self):
            seen.append({"method": "GET", "path": self.path})
            query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
            self._answer(echo["fn"](query) if "fn" in echo else "")

        def log_message(self, *args):
            pass

    http_server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=http_server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http_server.server_port}/cb", seen, echo
    http_server.shutdown()
    http_server.server_close()


def query_of(path):
    return {k: v[0] for k, v in parse_qs(urlsplit(path).query).items()}


# -- WeCom gettoken -----------------------------------------------------------------
def test_gettoken_is_stable_while_valid_and_checks_credentials(ctl):
    client = wecom(ctl)
    first = client.fetch_access_token()
    assert first["errcode"] == 0 and first["expires_in"] == 7200 and first["access_token"]
    assert client.fetch_access_token()["access_token"] == first["access_token"]
    assert errcode(wecom(ctl, secret="wrong").fetch_access_token) == 40001
    assert errcode(wecom(ctl, corp_id="wwnotthecorp").fetch_access_token) == 40013
    # a WeCom token is no mini-program token, and the reverse
    res = requests.post(ctl.url + "cgi-bin/message/custom/send",
                        params={"access_token": first["access_token"]}, json={}).json()
    assert res["errcode"] == 40001
    mp_token = mp(ctl).access_token
    res = requests.get(ctl.url + "cgi-bin/externalcontact/get",
                       params={"access_token": mp_token, "external_userid": "wmx"}).json()
    assert res["errcode"] == 40014


def test_expired_token_is_42001_and_wechatpy_fetches_a_new_one(ctl):
    client = wecom(ctl)
    old = client.access_token
    ctl.post("tokens/expire")
    strict = wecom(ctl, access_token=old, auto_retry=False)
    assert errcode(strict.external_contact.get, "wmnobody") == 42001
    assert errcode(client.external_contact.get, "wmnobody") == 84061  # refetched, then answered
    assert client.access_token != old
    assert ctl.get("stats")["wecom_token_fetches"] == 2
    res = requests.get(ctl.url + "cgi-bin/externalcontact/get", params={"external_userid": "x"})
    assert res.json()["errcode"] == 41001


# -- 联系我 ----------------------------------------------------------------------------
def test_add_contact_way_answers_config_id_and_qr_code(ctl):
    client = wecom(ctl)
    answer = client.external_contact.add_contact_way(type=1, scene=2, state="g42", user=["guide01"])
    assert answer["errcode"] == 0 and len(answer["config_id"]) == 32
    assert answer["qr_code"].startswith("https://wework.qq.com/")
    way = client.external_contact.get_contact_way(answer["config_id"])["contact_way"]
    assert way["user"] == ["guide01"] and way["state"] == "g42" and way["qr_code"] == answer["qr_code"]
    assert ctl.get("wecom/contact-ways", userid="guide01")["items"][0]["config_id"] == answer["config_id"]
    in_app = client.external_contact.add_contact_way(type=1, scene=1, user=["guide01"])
    assert "qr_code" not in in_app  # only scene 2 (通过二维码联系) has a QR code
    client.external_contact.del_contact_way(answer["config_id"])
    assert errcode(client.external_contact.get_contact_way, answer["config_id"]) == 40058


@pytest.mark.parametrize("kwargs", [
    {"type": 1, "scene": 2, "user": ["a", "b"]},           # type 1: exactly one user
    {"type": 1, "scene": 2, "user": []},
    {"type": 1, "scene": 3, "user": ["a"]},
    {"type": 3, "scene": 2, "user": ["a"]},
    {"type": 1, "scene": 2, "user": ["a"], "state": "s" * 31},  # state ≤ 30 chars
    {"type": 1, "scene": 2, "user": ["a"], "remark": "r" * 31},
])
def test_add_contact_way_refuses_what_wecom_refuses(ctl, kwargs):
    assert errcode(wecom(ctl).external_contact.add_contact_way, **kwargs) == 40058


def test_add_contact_way_state_of_thirty_chars_and_unknown_userid(ctl):
    client = wecom(ctl)
    answer = client.external_contact.add_contact_way(type=1, scene=2, state="s" * 30, user=["a"])
    assert answer["errcode"] == 0
    ctl.post("wecom/users", userid="gone", known=False)
    assert errcode(client.external_contact.add_contact_way, type=1, scene=2, user=["gone"]) == 60111
    ctl.post("wecom/users", userid="gone", known=True)
    assert client.external_contact.add_contact_way(type=1, scene=2, user=["gone"])["errcode"] == 0


def test_wecom_faults(ctl):
    client = wecom(ctl)
    ctl.post("faults", api="add_contact_way", errcode=-1)
    assert errcode(client.external_contact.add_contact_way, type=1, scene=2, user=["a"]) == -1
    assert client.external_contact.add_contact_way(type=1, scene=2, user=["a"])["errcode"] == 0
    ctl.post("faults", api="externalcontact_get", http_status=503)
    assert errcode(client.external_contact.get, "wmx") is None  # an HTTP error, no errcode
    ctl.post("faults", api="wecom_gettoken", errcode=45009)
    assert errcode(wecom(ctl).fetch_access_token) == 45009


# -- change_external_contact ----------------------------------------------------------
def decrypt_wecom(answer):
    params = answer["params"]
    crypto = WeComCrypto(SANDBOX_WECOM_TOKEN, SANDBOX_WECOM_AES_KEY, SANDBOX_WECOM_CORP_ID)
    return crypto.decrypt_message(answer["body"], params["msg_signature"], params["timestamp"],
                                  params["nonce"])


def test_add_external_contact_event_is_encrypted_and_signed_as_wecom_does(ctl):
    answer = ctl.post("wecom/add-external-contact", userid="guide01", state="g42",
                      unionid="oUnion42", send=False)
    outer = fields(answer["body"])
    assert set(outer) == {"ToUserName", "Encrypt", "AgentID"}
    assert outer["ToUserName"] == SANDBOX_WECOM_CORP_ID
    assert answer["url"].endswith("/api/v1/wecom/callback")
    assert set(query_of(answer["full_url"])) == {"msg_signature", "timestamp", "nonce"}
    event = fields(decrypt_wecom(answer))
    assert event == {
        "ToUserName": SANDBOX_WECOM_CORP_ID, "FromUserName": "sys",
        "CreateTime": event["CreateTime"], "MsgType": "event", "Event": "change_external_contact",
        "ChangeType": "add_external_contact", "UserID": "guide01",
        "ExternalUserID": answer["external_userid"], "State": "g42",
        "WelcomeCode": event["WelcomeCode"]}
    assert event["CreateTime"].isdigit() and event["WelcomeCode"]
    tampered = dict(answer, params=dict(answer["params"], nonce="1"))
    with pytest.raises(InvalidSignatureException):
        decrypt_wecom(tampered)


def test_the_event_registers_the_contact_for_externalcontact_get(ctl):
    client = wecom(ctl)
    way = client.external_contact.add_contact_way(type=1, scene=2, state="g7", user=["guide07"])
    answer = ctl.post("wecom/add-external-contact", config_id=way["config_id"], user="alice",
                      send=False)
    alice = ctl.post("login-code", user="alice")
    assert answer["unionid"] == alice["unionid"]
    assert fields(decrypt_wecom(answer))["State"] == "g7"
    contact = client.external_contact.get(answer["external_userid"])
    assert contact["external_contact"]["unionid"] == alice["unionid"]
    assert contact["external_contact"]["type"] == 1
    [follow] = contact["follow_user"]
    assert follow["userid"] == "guide07" and follow["state"] == "g7" and follow["createtime"] > 0
    # the same WeChat user keeps the same external_userid in this corp
    again = ctl.post("wecom/add-external-contact", userid="guide08", user="alice", send=False)
    assert again["external_userid"] == answer["external_userid"]
    assert {f["userid"] for f in client.external_contact.get(answer["external_userid"])["follow_user"]} \
        == {"guide07", "guide08"}
    for userid in ("guide07", "guide08"):
        gone = ctl.post("wecom/add-external-contact", userid=userid, user="alice",
                        change_type="del_external_contact", send=False)
        event = fields(decrypt_wecom(gone))
        assert event["ChangeType"] == "del_external_contact" and "State" not in event
    assert errcode(client.external_contact.get, answer["external_userid"]) == 84061


def test_add_external_contact_posts_to_the_callback_url(ctl, receiver):
    url, seen, _ = receiver
    answer = ctl.post("wecom/add-external-contact", userid="guide01", state="g1",
                      external_userid="wmGivenExternal", url=url)
    assert answer["answer"] == {"status": 200, "body": "success"}
    [request] = seen
    assert request["method"] == "POST" and request["content_type"].startswith("text/xml")
    params = query_of(request["path"])
    crypto = WeComCrypto(SANDBOX_WECOM_TOKEN, SANDBOX_WECOM_AES_KEY, SANDBOX_WECOM_CORP_ID)
    event = fields(crypto.decrypt_message(request["body"], params["msg_signature"],
                                          params["timestamp"], params["nonce"]))
    assert event["ExternalUserID"] == "wmGivenExternal" and event["State"] == "g1"
    assert ctl.post("wecom/add-external-contact", userid="x", url="http://127.0.0.1:9/cb")[
        "answer"]["status"] is None  # nothing listening: reported, not raised


def test_wecom_url_verification(ctl, receiver):
    answer = ctl.post("wecom/verify-url", send=False)
    params = answer["params"]
    crypto = WeComCrypto(SANDBOX_WECOM_TOKEN, SANDBOX_WECOM_AES_KEY, SANDBOX_WECOM_CORP_ID)
    echoed = crypto.check_signature(params["msg_signature"], params["timestamp"], params["nonce"],
                                    params["echostr"])
    assert (echoed.decode() if isinstance(echoed, bytes) else echoed) == answer["echostr_plain"]
    url, seen, echo = receiver
    echo["fn"] = lambda q: crypto.check_signature(q["msg_signature"], q["timestamp"], q["nonce"],
                                                  q["echostr"])
    sent = ctl.post("wecom/verify-url", url=url)
    assert sent["verified"] is True and seen[0]["method"] == "GET"
    echo["fn"] = lambda q: "wrong"
    assert ctl.post("wecom/verify-url", url=url)["verified"] is False


# -- mini-program message push -----------------------------------------------------------
def test_plain_xml_push_is_signed(ctl):
    answer = ctl.post("push", user="bob", msg_type="text", content="在吗", send=False)
    bob = ctl.post("login-code", user="bob")["openid"]
    params = answer["params"]
    assert set(params) == {"signature", "timestamp", "nonce"}
    check_signature(SANDBOX_WECHAT_TOKEN, params["signature"], params["timestamp"], params["nonce"])
    assert answer["url"].endswith("/api/v1/wechat/callback")
    message = fields(answer["body"])
    assert message["ToUserName"] == SANDBOX_ORIGINAL_ID and message["FromUserName"] == bob
    assert message["MsgType"] == "text" and message["Content"] == "在吗"
    assert message["CreateTime"].isdigit() and message["MsgId"].isdigit()


def test_safe_mode_xml_push_decrypts_with_the_appid(ctl):
    answer = ctl.post("push", user="bob", event="user_enter_tempsession", session_from="goods-1",
                      encrypted=True, send=False)
    params = answer["params"]
    assert params["encrypt_type"] == "aes"
    check_signature(SANDBOX_WECHAT_TOKEN, params["signature"], params["timestamp"], params["nonce"])
    outer = fields(answer["body"])
    assert set(outer) == {"ToUserName", "Encrypt"} and outer["ToUserName"] == SANDBOX_ORIGINAL_ID
    crypto = WeChatCrypto(SANDBOX_WECHAT_TOKEN, SANDBOX_WECHAT_AES_KEY, SANDBOX_APPID)
    plain = crypto.decrypt_message(answer["body"], params["msg_signature"], params["timestamp"],
                                   params["nonce"])
    message = fields(plain)
    assert message["MsgType"] == "event" and message["Event"] == "user_enter_tempsession"
    assert message["SessionFrom"] == "goods-1" and message["FromUserName"] == answer["openid"]
    with pytest.raises(InvalidSignatureException):
        crypto.decrypt_message(answer["body"], params["signature"], params["timestamp"],
                               params["nonce"])


def test_safe_mode_json_push(ctl):
    answer = ctl.post("push", openid="oGivenOpenid", content="hi", format="json", encrypted=True,
                      send=False)
    assert answer["content_type"].startswith("application/json")
    outer = json.loads(answer["body"])
    params = answer["params"]
    crypto = WeChatCrypto(SANDBOX_WECHAT_TOKEN, SANDBOX_WECHAT_AES_KEY, SANDBOX_APPID)
    message = json.loads(crypto.decrypt_message(outer, params["msg_signature"],
                                                params["timestamp"], params["nonce"]))
    assert message["FromUserName"] == "oGivenOpenid" and message["Content"] == "hi"
    assert isinstance(message["CreateTime"], int) and isinstance(message["MsgId"], int)


def test_push_posts_to_the_url_and_verification_echoes(ctl, receiver):
    url, seen, echo = receiver
    answer = ctl.post("push", user="carol", content="hello", url=url)
    assert answer["answer"] == {"status": 200, "body": "success"}
    assert fields(seen[0]["body"])["Content"] == "hello"
    check_signature(SANDBOX_WECHAT_TOKEN, *(query_of(seen[0]["path"])[k]
                                            for k in ("signature", "timestamp", "nonce")))
    verify = ctl.post("push/verify", send=False)
    params = verify["params"]
    check_signature(SANDBOX_WECHAT_TOKEN, params["signature"], params["timestamp"], params["nonce"])
    assert params["echostr"] == verify["echostr"]
    echo["fn"] = lambda q: q["echostr"]
    assert ctl.post("push/verify", url=url)["verified"] is True
    ctl.post("push", user="carol", expect=400, msg_type="video")
    ctl.post("push", user="carol", expect=400, event="subscribe")


# -- customer-service window --------------------------------------------------------------
def test_custom_message_needs_the_members_recent_action(ctl):
    client = mp(ctl)
    openid = ctl.post("login-code", user="dave")["openid"]
    assert errcode(client.message.send_text, openid, "hi") == 45015
    ctl.post("push", user="dave", event="user_enter_tempsession", send=False)  # 2 in 1 minute
    client.message.send_text(openid, "1")
    client.message.send_text(openid, "2")
    assert errcode(client.message.send_text, openid, "3") == 45047
    ctl.post("clock", advance=61)
    assert errcode(client.message.send_text, openid, "late") == 45015
    ctl.post("push", user="dave", content="我想问问", send=False)  # 5 in 48 hours
    for n in range(5):
        client.message.send_text(openid, f"answer {n}")
    assert errcode(client.message.send_text, openid, "6") == 45047
    ctl.post("push", user="dave", content="还有", send=False)
    client.message.send_text(openid, "again")
    ctl.post("clock", advance=48 * 3600)
    assert errcode(client.message.send_text, openid, "too late") == 45015
    sent = ctl.get("sent", kind="custom")["items"]
    assert len(sent) == 8 and sent[-1]["content"] == {"content": "again"}


def test_quotas_do_not_add_up(ctl):
    client = mp(ctl)
    openid = ctl.post("login-code", user="erin")["openid"]
    ctl.post("push", user="erin", content="q", send=False)
    ctl.post("push", user="erin", event="user_enter_tempsession", send=False)
    ctl.post("push", user="erin", content="q2", send=False)
    for n in range(5):
        client.message.send_text(openid, str(n))
    assert errcode(client.message.send_text, openid, "over") == 45047


def test_sandbox_crypto_reads_what_wechatpy_encrypts():
    from sandbox import msgcrypt
    crypto = WeComCrypto(SANDBOX_WECOM_TOKEN, SANDBOX_WECOM_AES_KEY, SANDBOX_WECOM_CORP_ID)
    reply = fields(crypto.encrypt_message("<xml><Content>回复</Content></xml>", "12345", "1700000000"))
    assert reply["MsgSignature"] == msgcrypt.signature(SANDBOX_WECOM_TOKEN, "1700000000", "12345",
                                                       reply["Encrypt"])
    assert msgcrypt.decrypt(reply["Encrypt"], SANDBOX_WECOM_AES_KEY, SANDBOX_WECOM_CORP_ID) \
        == "<xml><Content>回复</Content></xml>"
    with pytest.raises(msgcrypt.MsgCryptError):
        msgcrypt.decrypt(reply["Encrypt"], SANDBOX_WECOM_AES_KEY, SANDBOX_APPID)
