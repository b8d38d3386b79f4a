"""The callbacks: the mini-program's message push (customer service answered with the guide's QR,
once) and WeCom's external-contact events (an add through a guide's code binds the member), each
refused with a bad signature, all built by the sandbox as WeChat and WeCom send them."""
from sqlalchemy import func, select

from models import GuideBinding, WeComContact, db
from services.guides import contact_ways
from tests.support.api import assert_error, unique
from tests.support.db import row_counts
from tests.support.guides import build_callback, deliver, sent_to


def test_the_push_url_is_verified_and_a_bad_signature_refused(client, wx):
    built = build_callback(wx, "push/verify")
    res = deliver(client, built, "/api/v1/wechat/callback")
    assert res.status_code == 200 and res.get_data(as_text=True) == built["echostr"]
    forged = {**built["params"], "signature": "0" * 40}
    assert_error(client.get("/api/v1/wechat/callback", query_string=forged), 403)


def test_entering_customer_service_answers_the_guides_qr_once(client, wx, store):
    guide = store["add_guide"](qr_image_url="https://example.com/guide-qr.png")
    user = unique("cs")
    code = wx.post("login-code", user=user)["code"]
    login = client.post("/api/v1/auth/login", json={"code": code}).get_json()
    headers = {"Authorization": f"Bearer {login['token']}"}
    assert client.post(f"/api/v1/guides/{guide['id']}/bind", headers=headers).status_code == 200
    for encrypted in (False, True):
        built = build_callback(wx, "push", user=user, event="user_enter_tempsession", encrypted=encrypted)
        res = deliver(client, built, "/api/v1/wechat/callback")
        assert res.status_code == 200 and res.get_data(as_text=True) == "success", res.get_data(as_text=True)
        if not encrypted:
            again = deliver(client, built, "/api/v1/wechat/callback")  # WeChat's retry of the same push
            assert again.status_code == 200
    sent = sent_to(wx, built["openid"])
    assert len(sent) == 1 and sent[0]["msgtype"] == "image", sent  # one answer a minute at most


def test_a_member_without_a_guide_gets_the_default_answer(client, wx, app):
    user = unique("cs")
    client.post("/api/v1/auth/login", json={"code": wx.post("login-code", user=user)["code"]})
    built = build_callback(wx, "push", user=user, msg_type="text", content="你好", format="json", encrypted=True)
    assert deliver(client, built, "/api/v1/wechat/callback").status_code == 200
    sent = sent_to(wx, built["openid"])
    assert len(sent) == 1 and sent[0]["msgtype"] == "text" and sent[0]["content"]["content"] == app.config["SERVICE_REPLY"]


def test_a_forged_push_changes_nothing(client, wx):
    built = build_callback(wx, "push", user=unique("cs"), event="user_enter_tempsession", encrypted=True)
    built["params"]["msg_signature"] = "0" * 40
    assert_error(deliver(client, built, "/api/v1/wechat/callback"), 400)
    assert sent_to(wx, built["openid"]) == []


def test_a_wecom_add_through_a_guides_code_binds_the_member_and_a_forged_event_changes_nothing(
        client, wx, store, make_member):
    guide = store["add_guide"](wecom_userid=unique("staff").replace("-", "_"))
    assert contact_ways.make_for(guide["id"]) == "made"
    shown = client.get(f"/api/v1/admin/guides/{guide['id']}", headers=store["admin"]).get_json()
    assert shown["wecom_qr_url"].startswith("http")
    verify = build_callback(wx, "wecom/verify-url")
    res = deliver(client, verify, "/api/v1/wecom/callback")
    assert res.status_code == 200 and res.get_data(as_text=True) == verify["echostr_plain"]
    user = unique("wecom")
    client.post("/api/v1/auth/login", json={"code": wx.post("login-code", user=user)["code"]})
    event = build_callback(wx, "wecom/add-external-contact", userid=guide["wecom_userid"], state=f"g{guide['id']}",
                   user=user)
    forged = {**event, "params": {**event["params"], "msg_signature": "0" * 40}}
    before = row_counts(WeComContact, GuideBinding)
    assert_error(deliver(client, forged, "/api/v1/wecom/callback"), 403)
    assert row_counts(WeComContact, GuideBinding) == before
    res = deliver(client, event, "/api/v1/wecom/callback")
    assert res.status_code == 200 and res.get_data(as_text=True) == "success", res.get_data(as_text=True)
    db.session.rollback()
    contact_guide, member_id = db.session.execute(select(WeComContact.guide_id, WeComContact.member_id).where(
        WeComContact.external_userid == event["external_userid"])).one()
    assert contact_guide == guide["id"] and member_id is not None
    assert db.session.execute(select(GuideBinding.guide_id, GuideBinding.how).where(
        GuideBinding.member_id == member_id)).one() == (guide["id"], "wecom")
    removed = build_callback(wx, "wecom/add-external-contact", userid=guide["wecom_userid"], user=user,
                     change_type="del_external_contact")
    assert deliver(client, removed, "/api/v1/wecom/callback").status_code == 200
    assert db.session.scalar(select(func.count()).select_from(WeComContact).where(
        WeComContact.external_userid == event["external_userid"])) == 2
    assert db.session.scalar(select(GuideBinding.guide_id).where(GuideBinding.member_id == member_id)) == \
        guide["id"]
