"""The WeChat sandbox, driven over real HTTP (no wechatpy here: the adapter tests use it)."""
import base64
import hashlib
import http.server
import threading
import xml.etree.ElementTree as ET

import pytest
import requests
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from sandbox import SANDBOX_APPID, SANDBOX_MCH_ID, SANDBOX_PAY_KEY, SANDBOX_SECRET
from sandbox.crypto import sign
from sandbox.server import SandboxServer

SUCCESS_REPLY = (b"<xml><return_code><![CDATA[SUCCESS]]></return_code>"
                 b"<return_msg><![CDATA[OK]]></return_msg></xml>")


@pytest.fixture(scope="module")
def wx_server():
    with SandboxServer() as server:
        yield server


@pytest.fixture
def wx(wx_server):
    requests.post(wx_server.url + "sandbox/reset").raise_for_status()
    return wx_server.url


@pytest.fixture
def receiver():
    """A tiny HTTP server recording POSTed bodies and answering WeChat's SUCCESS XML."""
    bodies = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.send_header("Content-Type", "text/xml")
            self.end_headers()
            self.wfile.write(SUCCESS_REPLY)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/notify", bodies
    server.shutdown()
    server.server_close()


# -- helpers ------------------------------------------------------------------
def control(url, path, **payload):
    res = requests.post(url + "sandbox/" + path, json=payload)
    res.raise_for_status()
    return res.json()


def stable_token(url, force_refresh=False):
    return requests.post(url + "cgi-bin/stable_token", json={
        "grant_type": "client_credential", "appid": SANDBOX_APPID, "secret": SANDBOX_SECRET,
        "force_refresh": force_refresh}).json()


def token(url):
    return stable_token(url)["access_token"]


def api(url, path, payload, access_token):
    return requests.post(url + path, params={"access_token": access_token}, json=payload)


def login(url, user="alice"):
    return control(url, "login-code", user=user)


def to_xml(data):
    return "<xml>" + "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in data.items()) + "</xml>"


def from_xml(text, root="xml"):
    doc = ET.fromstring(text)
    assert doc.tag == root
    return {child.tag: child.text or "" for child in doc}


def pay_call(url, path, fields, key=SANDBOX_PAY_KEY, sign_type="MD5"):
    data = {"appid": SANDBOX_APPID, "mch_id": SANDBOX_MCH_ID, "nonce_str": "n0nce", **fields}
    if sign_type != "MD5":
        data["sign_type"] = sign_type
    data["sign"] = sign(data, key, sign_type)
    res = requests.post(url + path, data=to_xml(data).encode("utf-8"))
    assert res.status_code == 200
    return from_xml(res.content)


def order_fields(openid, out_trade_no="T1", total_fee=100, notify_url="http://127.0.0.1:9/n"):
    return {"body": "会员充值", "out_trade_no": out_trade_no, "total_fee": total_fee,
            "spbill_create_ip": "127.0.0.1", "notify_url": notify_url,
            "trade_type": "JSAPI", "openid": openid, "attach": "m42"}


def paid_order(url, notify_url="http://127.0.0.1:9/n"):
    openid = login(url)["openid"]
    assert pay_call(url, "pay/unifiedorder", order_fields(openid, notify_url=notify_url)
                    )["result_code"] == "SUCCESS"
    control(url, "pay/T1/pay", send=False)


def assert_signed(data, sign_type="MD5"):
    assert data["sign"] == sign(data, SANDBOX_PAY_KEY, sign_type)


# -- signature ------------------------------------------------------------------
def test_signature_matches_wechat_pay_test_vector():
    params = {"appid": "wxd930ea5d5a258f4f", "mch_id": "10000100", "device_info": "1000",
              "body": "test", "nonce_str": "ibuaiVcKdpRxkhJA"}
    key = "192006250b4c09247ec02edce69f6a2d"
    assert sign(params, key) == "9A0A8659F005D6984697E2CA0A9CF3B7"
    assert sign(params, key, "HMAC-SHA256") == (
        "6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6")
    noisy = dict(params, sign="whatever", empty="")
    assert sign(noisy, key) == "9A0A8659F005D6984697E2CA0A9CF3B7"


# -- login and tokens -------------------------------------------------------------
def _code2session(url, code, secret=SANDBOX_SECRET):
    return requests.get(url + "sns/jscode2session", params={
        "appid": SANDBOX_APPID, "secret": secret, "js_code": code,
        "grant_type": "authorization_code"}).json()


def test_login_code_is_single_use_and_openid_is_stable(wx):
    minted = login(wx)
    first = _code2session(wx, minted["code"])
    assert first["openid"] == minted["openid"] and first["unionid"] == minted["unionid"]
    assert first["openid"].startswith("o") and len(first["openid"]) == 28
    assert _code2session(wx, minted["code"])["errcode"] == 40029
    assert _code2session(wx, login(wx)["code"])["openid"] == first["openid"]
    assert _code2session(wx, login(wx, "bob")["code"])["openid"] != first["openid"]
    assert _code2session(wx, login(wx)["code"], secret="nope")["errcode"] == 40125


def test_login_code_is_redeemed_once_under_concurrency(wx):
    code = login(wx)["code"]
    results = []
    threads = [threading.Thread(target=lambda: results.append(_code2session(wx, code)))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted("openid" in r for r in results) == [False] * 7 + [True]


def test_login_code_expires_after_five_minutes(wx):
    code = login(wx)["code"]
    control(wx, "clock", advance=301)
    assert _code2session(wx, code)["errcode"] == 40029


def test_stable_token_is_shared_and_counted(wx):
    first, second = token(wx), token(wx)
    assert first == second
    forced = stable_token(wx, force_refresh=True)
    assert forced["access_token"] != first and forced["expires_in"] == 7200
    assert requests.get(wx + "sandbox/stats").json()["token_fetches"] == 3


def test_invalid_or_expired_token_is_refused(wx):
    phone = control(wx, "phone-code", phone="13800138000")["code"]
    assert api(wx, "wxa/business/getuserphonenumber", {"code": phone}, "bogus"
               ).json()["errcode"] == 40001
    access_token = token(wx)
    control(wx, "tokens/expire")
    assert api(wx, "wxa/business/getuserphonenumber", {"code": phone}, access_token
               ).json()["errcode"] == 42001


def test_phone_number(wx):
    phone = control(wx, "phone-code", phone="13800138000")["code"]
    answer = api(wx, "wxa/business/getuserphonenumber", {"code": phone}, token(wx)).json()
    assert answer["phone_info"]["purePhoneNumber"] == "13800138000"
    assert answer["phone_info"]["watermark"]["appid"] == SANDBOX_APPID
    again = api(wx, "wxa/business/getuserphonenumber", {"code": phone}, token(wx)).json()
    assert again["errcode"] == 40029


# -- messages ---------------------------------------------------------------------
def _subscribe(url, openid, value="积分已到账", template_id="TPL"):
    return api(url, "cgi-bin/message/subscribe/send", {
        "touser": openid, "template_id": template_id, "page": "pages/index/index",
        "data": {"thing1": {"value": value}, "amount2": {"value": "88.00元"}}}, token(url)).json()


def test_subscribe_send_records_validates_and_faults(wx):
    openid = login(wx)["openid"]
    assert _subscribe(wx, openid)["errcode"] == 0
    items = requests.get(wx + "sandbox/sent", params={"kind": "subscribe"}).json()["items"]
    assert [(i["touser"], i["template_id"], i["data"]["thing1"]["value"]) for i in items] == [
        (openid, "TPL", "积分已到账")]
    bad = _subscribe(wx, openid, value="x" * 21)
    assert bad == {"errcode": 47003, "errmsg": "argument invalid! data.thing1.value invalid"}
    assert _subscribe(wx, "o" + "x" * 27)["errcode"] == 40003
    assert _subscribe(wx, openid, template_id="")["errcode"] == 40037
    control(wx, "faults", api="subscribe_send", errcode=43101)
    assert _subscribe(wx, openid)["errcode"] == 43101
    assert _subscribe(wx, openid)["errcode"] == 0
    control(wx, "faults", api="subscribe_send", http_status=500)
    assert api(wx, "cgi-bin/message/subscribe/send", {}, token(wx)).status_code == 500
    assert len(requests.get(wx + "sandbox/sent").json()["items"]) == 2


def test_wxacode_is_png_and_scene_is_validated(wx):
    res = api(wx, "wxa/getwxacodeunlimit", {"scene": "g1", "page": "pages/guide/index"},
              token(wx))
    assert res.headers["Content-Type"] == "image/png"
    assert res.content.startswith(b"\x89PNG\r\n\x1a\n")
    other = api(wx, "wxa/getwxacodeunlimit", {"scene": "g2"}, token(wx)).content
    assert other != res.content
    long = api(wx, "wxa/getwxacodeunlimit", {"scene": "x" * 33}, token(wx))
    assert long.headers["Content-Type"].startswith("application/json")
    assert long.json()["errcode"] == 40169
    assert api(wx, "wxa/getwxacodeunlimit", {"scene": "a b"}, token(wx)
               ).json()["errcode"] == 40169


# -- WeChat Pay -----------------------------------------------------------------------
def test_unifiedorder_bad_sign_and_reuse_rules(wx):
    openid = login(wx)["openid"]
    bad = pay_call(wx, "pay/unifiedorder", order_fields(openid), key="x" * 32)
    assert bad["return_code"] == "FAIL" and bad["return_msg"] == "签名错误"
    first = pay_call(wx, "pay/unifiedorder", order_fields(openid), sign_type="HMAC-SHA256")
    assert first["result_code"] == "SUCCESS" and first["prepay_id"].startswith("wx")
    assert_signed(first, "HMAC-SHA256")
    again = pay_call(wx, "pay/unifiedorder", order_fields(openid), sign_type="HMAC-SHA256")
    assert again["prepay_id"] == first["prepay_id"]
    changed = pay_call(wx, "pay/unifiedorder", order_fields(openid, total_fee=200))
    assert (changed["result_code"], changed["err_code"]) == ("FAIL", "OUT_TRADE_NO_USED")
    doctype = '<!DOCTYPE x [<!ENTITY e "x">]><xml><appid>&e;</appid></xml>'
    res = requests.post(wx + "pay/unifiedorder", data=doctype)
    assert from_xml(res.content)["return_code"] == "FAIL"


def test_orderquery_and_closeorder(wx):
    openid = login(wx)["openid"]
    pay_call(wx, "pay/unifiedorder", order_fields(openid))
    query = pay_call(wx, "pay/orderquery", {"out_trade_no": "T1"})
    assert query["trade_state"] == "NOTPAY"
    assert_signed(query)
    assert pay_call(wx, "pay/closeorder", {"out_trade_no": "T1"})["result_code"] == "SUCCESS"
    assert pay_call(wx, "pay/orderquery", {"out_trade_no": "T1"})["trade_state"] == "CLOSED"
    missing = pay_call(wx, "pay/orderquery", {"out_trade_no": "nope"})
    assert missing["err_code"] == "ORDERNOTEXIST"


def test_pay_control_posts_signed_notification(wx, receiver):
    notify_url, bodies = receiver
    openid = login(wx)["openid"]
    pay_call(wx, "pay/unifiedorder", order_fields(openid, notify_url=notify_url))
    answer = control(wx, "pay/T1/pay")
    assert answer["status"] == 200 and answer["return_code"] == "SUCCESS"
    notice = from_xml(bodies[0])
    assert_signed(notice)
    assert (notice["result_code"], notice["out_trade_no"], notice["total_fee"],
            notice["openid"], notice["attach"]) == ("SUCCESS", "T1", "100", openid, "m42")
    assert len(notice["time_end"]) == 14
    query = pay_call(wx, "pay/orderquery", {"transaction_id": notice["transaction_id"]})
    assert (query["trade_state"], query["time_end"]) == ("SUCCESS", notice["time_end"])
    order = requests.get(wx + "sandbox/orders/T1").json()
    assert order["state"] == "SUCCESS"
    reorder = pay_call(wx, "pay/unifiedorder", order_fields(openid, notify_url=notify_url))
    assert reorder["err_code"] == "ORDERPAID"


def test_pay_fault_injection(wx):
    openid = login(wx)["openid"]
    control(wx, "faults", api="unifiedorder", errcode="SYSTEMERROR")
    failed = pay_call(wx, "pay/unifiedorder", order_fields(openid))
    assert (failed["result_code"], failed["err_code"]) == ("FAIL", "SYSTEMERROR")
    assert pay_call(wx, "pay/unifiedorder", order_fields(openid))["result_code"] == "SUCCESS"


def _refund(url, out_refund_no="R1", refund_fee=30, notify_url=None):
    fields = {"out_trade_no": "T1", "out_refund_no": out_refund_no, "total_fee": 100,
              "refund_fee": refund_fee}
    if notify_url:
        fields["notify_url"] = notify_url
    return pay_call(url, "secapi/pay/refund", fields)


def test_refund_is_idempotent_and_bounded(wx):
    paid_order(wx)
    first = _refund(wx)
    assert first["result_code"] == "SUCCESS"
    assert _refund(wx)["refund_id"] == first["refund_id"]
    assert _refund(wx, refund_fee=40)["err_code"] == "INVALID_REQUEST"
    assert _refund(wx, "R2", 80)["err_code"] == "NOTENOUGH"
    assert _refund(wx, "R2", 70)["result_code"] == "SUCCESS"
    query = pay_call(wx, "pay/refundquery", {"out_trade_no": "T1"})
    assert query["refund_count"] == "2" and query["refund_status_1"] == "SUCCESS"
    assert pay_call(wx, "pay/orderquery", {"out_trade_no": "T1"})["trade_state"] == "REFUND"


def test_refund_notification_req_info_decrypts(wx, receiver):
    notify_url, bodies = receiver
    paid_order(wx)
    refund_id = _refund(wx, notify_url=notify_url)["refund_id"]
    answer = control(wx, "refunds/R1/notify")
    assert answer["return_code"] == "SUCCESS"
    notice = from_xml(bodies[0])
    assert (notice["appid"], notice["mch_id"]) == (SANDBOX_APPID, SANDBOX_MCH_ID)
    key = hashlib.md5(SANDBOX_PAY_KEY.encode()).hexdigest().encode()
    decryptor = Cipher(algorithms.AES(key), modes.ECB()).decryptor()
    padded = decryptor.update(base64.b64decode(notice["req_info"])) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    info = from_xml(unpadder.update(padded) + unpadder.finalize(), root="root")
    assert (info["out_refund_no"], info["refund_id"], info["refund_fee"],
            info["refund_status"]) == ("R1", refund_id, "30", "SUCCESS")
