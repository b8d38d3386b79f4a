"""The console's configuration pages over HTTP: each page renders for an admin and a viewer, a thing made
through its form is in the operator API, the API's messages stand beside their fields, a viewer may not
change anything, and junk is answered, never a 500."""
import re
from datetime import timedelta

import pytest

from blueprints.admin.coupons import CouponPackSchema, CouponTemplateSchema
from blueprints.admin.guides import GuideChangesSchema, OperatorGuideSchema, TransferSchema
from blueprints.admin.levels import LevelSchema, PolicyFieldsSchema
from blueprints.admin.mall import LotterySchema
from blueprints.admin.payments import PaymentRuleSchema, StoreSchema
from blueprints.admin.signin import SigninRuleSchema
from blueprints.admin.tasks import TaskSchema
from services.platform.clock import today as business_today
from tests.support.api import unique
from tests.support.console import signed_in

HTMX = {"HX-Request": "true"}
PAGES = ["/console/signin-rules", "/console/levels", "/console/tasks", "/console/lotteries",
         "/console/coupon-templates", "/console/coupon-packs", "/console/payment-rules", "/console/stores"]


def field(html: str, name: str) -> str:
    """The HTML of one field of a form: its input and the messages beside it."""
    return html.split(f'data-field="{name}"')[1].split("data-field=")[0]


def post(console, token, url, data):
    return console.post(url, data={**data, "csrf_token": token}, headers=HTMX)


def created(answer, done: str):
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.headers["HX-Redirect"].endswith(done)


def refused(answer, name: str, message: str):
    assert answer.status_code == 422
    assert message in field(answer.get_data(as_text=True), name)


@pytest.fixture
def admin(app):
    return signed_in(app)


@pytest.fixture
def api(client, operator):
    """The operator API as an admin: api("GET", path) → the answer's JSON."""
    headers = operator()

    def call(method, path, body=None):
        answer = client.open(f"/api/v1/admin{path}", method=method, json=body, headers=headers)
        assert answer.status_code < 300, answer.get_json()
        return answer.get_json(silent=True)
    return call


@pytest.fixture
def pack(api):
    template = api("POST", "/coupon-templates", {"name": unique("tpl"), "kind": "cash_off", "amount_fen": 500,
                                                 "valid_days": 30})
    return api("POST", "/coupon-packs", {"name": unique("pack"), "items": [{"template_id": template["id"],
                                                                            "quantity": 1}]})


@pytest.mark.parametrize("role", ["admin", "viewer"])
@pytest.mark.parametrize("url", PAGES)
def test_each_page_renders_and_only_an_admin_sees_its_forms(app, url, role):
    console, _ = signed_in(app, role=role)
    answer = console.get(url)
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert 'class="rows"' in html and ("schema-form" in html) == (role == "admin")
    assert "配置" in html  # the menu's group


def test_the_menu_lists_the_configuration_pages(admin):
    html = admin[0].get("/console/levels").get_data(as_text=True)
    for url in PAGES:
        assert f'href="{url}"' in html


# -- sign-in rules ---------------------------------------------------------------------------------

def test_a_sign_in_rule_version_is_made_shown_changed_and_deleted(admin, api):
    console, token = admin
    page = console.get("/console/signin-rules").get_data(as_text=True)
    assert "今日生效的规则" in page and "下一个营业日" in page
    name = unique("rules")
    created(post(console, token, "/console/signin-rules", {
        "name": name, "cycle_days": "2", "after_cycle": "restart",
        "rewards": '[{"points": 3}, {"points": 4, "growth": 1}]', "milestones": "[]"}), "/console/signin-rules")
    rule = next(rule for rule in api("GET", "/signin-rules")["items"] if rule["name"] == name)
    assert [reward["points"] for reward in rule["rewards"]] == [3, 4]
    assert rule["effective_from"] == str(business_today() + timedelta(days=1))  # from the next business day
    assert console.get(f"/console/signin-rules/{rule['id']}").status_code == 200
    created(post(console, token, f"/console/signin-rules/{rule['id']}", {"name": name + "-b"}),
            "/console/signin-rules")
    assert api("GET", f"/signin-rules/{rule['id']}")["name"] == name + "-b"  # not yet in force: in place
    created(post(console, token, f"/console/signin-rules/{rule['id']}/delete", {}), "/console/signin-rules")
    assert rule["id"] not in [row["id"] for row in api("GET", "/signin-rules")["items"]]


def test_a_sign_in_rule_with_the_wrong_number_of_rewards_is_refused_beside_the_field(admin):
    console, token = admin
    answer = post(console, token, "/console/signin-rules", {"name": "two days", "cycle_days": "2",
                                                            "rewards": '[{"points": 3}]'})
    refused(answer, "rewards", "Give 2 rewards, one per cycle day.")


# -- levels ----------------------------------------------------------------------------------------

def test_a_level_is_added_changed_and_removed_and_the_policy_set(admin, api):
    console, token = admin
    code, threshold = unique("lv").replace("-", "_")[-32:], 900_000_000 + int(unique("t").rsplit("-", 1)[1])
    created(post(console, token, "/console/levels", {"code": code, "name": "钻石", "threshold": str(threshold),
                                                     "points_multiplier_pct": "150", "mall_discount_pct": "100",
                                                     "makeup_cards_per_month": "0", "birthday_points": "0"}),
            "/console/levels")
    level = next(level for level in api("GET", "/levels")["items"] if level["code"] == code)
    assert level["points_multiplier_pct"] == 150 and level["exclusive_goods"] is False
    created(post(console, token, f"/console/levels/{level['id']}", {"name": "黑钻", "exclusive_goods": "on"}),
            f"/console/levels/{level['id']}")
    changed = api("GET", f"/levels/{level['id']}")
    assert (changed["name"], changed["exclusive_goods"], changed["threshold"]) == ("黑钻", True, threshold)
    created(post(console, token, f"/console/levels/{level['id']}/delete", {}), "/console/levels")
    assert code not in [level["code"] for level in api("GET", "/levels")["items"]]

    now = api("GET", "/level-policy")
    created(post(console, token, "/console/level-policy", {"growth_window": now["growth_window"],
                                                           "downgrade": now["downgrade"],
                                                           "grace_days": str(now["grace_days"])}), "/console/levels")
    pending = api("GET", "/level-policy")["pending"]
    assert pending and pending["growth_window"] == now["growth_window"]
    assert "待生效" in console.get("/console/levels").get_data(as_text=True)


def test_a_level_and_a_policy_are_refused_with_the_apis_messages(admin):
    console, token = admin
    refused(post(console, token, "/console/levels", {"code": "Not A Code", "name": "x", "threshold": "abc"}),
            "threshold", "Not a valid integer.")
    refused(post(console, token, "/console/levels", {"code": "Not A Code", "name": "x", "threshold": "1"}),
            "code", "String does not match expected pattern.")
    refused(post(console, token, "/console/level-policy", {"growth_window": "forever", "downgrade": "none"}),
            "growth_window", "Must be one of")


# -- tasks -----------------------------------------------------------------------------------------

def test_a_task_is_added_changed_and_switched_off(admin, api):
    console, token = admin
    code = unique("tk").replace("-", "_")[-32:]
    created(post(console, token, "/console/tasks", {"code": code, "title": "浏览商城", "kind": "daily",
                                                    "event": "browse_goods", "target": "1", "reward_points": "5",
                                                    "sort_order": "0"}), "/console/tasks")
    task = next(task for task in api("GET", "/tasks")["items"] if task["code"] == code)
    assert task["reward_points"] == 5 and task["enabled"] is False  # the box was left unticked
    created(post(console, token, f"/console/tasks/{task['id']}", {"title": "逛逛商城", "enabled": "on"}),
            f"/console/tasks/{task['id']}")
    assert api("GET", f"/tasks/{task['id']}")["title"] == "逛逛商城"
    created(post(console, token, f"/console/tasks/{task['id']}/disable", {}), f"/console/tasks/{task['id']}")
    assert api("GET", f"/tasks/{task['id']}")["enabled"] is False


def test_a_task_is_refused_with_the_apis_messages(admin):
    console, token = admin
    answer = post(console, token, "/console/tasks", {"code": "ok_code", "title": "t", "event": "e",
                                                     "tiers": '{"target": 1}'})
    refused(answer, "kind", "Missing data for required field.")
    assert "Not a valid list." in field(answer.get_data(as_text=True), "tiers")


# -- lotteries -------------------------------------------------------------------------------------

def test_a_lottery_is_added_with_its_prizes_shown_as_odds_and_closed(admin, api):
    console, token = admin
    name = unique("lottery")
    prizes = ('[{"name": "十积分", "kind": "points", "points": 10, "weight": 1},'
              ' {"name": "谢谢参与", "kind": "none", "weight": 3}]')
    created(post(console, token, "/console/lotteries", {"name": name, "cost_points": "5", "daily_limit": "3",
                                                        "prizes": prizes}), "/console/lotteries")
    lottery = next(lottery for lottery in api("GET", "/lotteries")["items"] if lottery["name"] == name)
    assert [prize["weight"] for prize in lottery["prizes"]] == [1, 3]
    listing = console.get("/console/lotteries").get_data(as_text=True)
    assert "十积分 25.00%" in listing and "谢谢参与 75.00%" in listing
    detail = console.get(f"/console/lotteries/{lottery['id']}").get_data(as_text=True)
    assert "25.00%" in detail and "75.00%" in detail
    created(post(console, token, f"/console/lotteries/{lottery['id']}/close", {}),
            f"/console/lotteries/{lottery['id']}")
    assert api("GET", f"/lotteries/{lottery['id']}")["active"] is False


def test_a_lottery_prize_is_refused_with_the_apis_message(admin):
    console, token = admin
    answer = post(console, token, "/console/lotteries", {"name": "bad", "cost_points": "5", "daily_limit": "3",
                                                         "prizes": '[{"name": "p", "kind": "points", "weight": 1}]'})
    refused(answer, "prizes", "A points prize pays at least one point.")


# -- coupons ---------------------------------------------------------------------------------------

def test_a_coupon_template_and_a_pack_are_added(admin, api):
    console, token = admin
    name = unique("tpl")
    created(post(console, token, "/console/coupon-templates", {
        "name": name, "kind": "cash_off", "amount_fen": "500", "min_spend_fen": "3000", "valid_days": "30",
        "channel": "all", "active": "on"}), "/console/coupon-templates")
    template = next(item for item in api("GET", "/coupon-templates?limit=100")["items"] if item["name"] == name)
    assert (template["amount_fen"], template["active"]) == (500, True)
    pack_name = unique("pack")
    created(post(console, token, "/console/coupon-packs", {
        "name": pack_name, "items": f'[{{"template_id": {template["id"]}, "quantity": 2}}]'}), "/console/coupon-packs")
    pack = next(item for item in api("GET", "/coupon-packs?limit=100")["items"] if item["name"] == pack_name)
    assert pack["items"] == [{"template_id": template["id"], "quantity": 2}]
    assert f"#{template['id']} × 2" in console.get("/console/coupon-packs").get_data(as_text=True)
    created(post(console, token, f"/console/coupon-templates/{template['id']}", {"total_stock": "40", "active": "on"}),
            f"/console/coupon-templates/{template['id']}")
    assert api("GET", f"/coupon-templates/{template['id']}")["total_stock"] == 40
    created(post(console, token, f"/console/coupon-templates/{template['id']}/disable", {}),
            f"/console/coupon-templates/{template['id']}")
    assert api("GET", f"/coupon-templates/{template['id']}")["active"] is False
    page = console.get(f"/console/coupon-packs/{pack['id']}").get_data(as_text=True)
    assert "quantity&#34;: 2" in field(page, "items")  # the pack's items, as JSON to change
    created(post(console, token, f"/console/coupon-packs/{pack['id']}", {"name": pack_name + "-b", "active": "on"}),
            f"/console/coupon-packs/{pack['id']}")
    assert api("GET", f"/coupon-packs/{pack['id']}")["name"] == pack_name + "-b"


def test_coupon_forms_are_refused_with_the_apis_messages(admin):
    console, token = admin
    refused(post(console, token, "/console/coupon-templates", {"name": "d", "kind": "discount",
                                                               "discount_pct": "150"}),
            "discount_pct", "Must be greater than or equal to 1 and less than or equal to 99.")
    refused(post(console, token, "/console/coupon-packs", {
        "name": "p", "items": '[{"template_id": 1, "quantity": 1}, {"template_id": 1, "quantity": 1}]'}),
        "items", "Each template appears once; use quantity for more.")


def test_the_create_form_shows_the_apis_defaults(admin):
    html = admin[0].get("/console/coupon-templates").get_data(as_text=True)
    assert re.search(r'name="active" checked', field(html, "active"))
    assert 'value="all" selected' in field(html, "channel")


# -- after-payment rules ---------------------------------------------------------------------------

def test_an_after_payment_rule_is_added_changed_and_switched_off(admin, api, pack):
    console, token = admin
    store = api("POST", "/stores", {"name": unique("store")})  # a store of its own: no other test's payments
    name = unique("rule")
    created(post(console, token, "/console/payment-rules", {
        "name": name, "min_amount_fen": "10000", "coupon_pack_id": str(pack["id"]), "store_id": str(store["id"]),
        "active": "on"}), "/console/payment-rules")
    rule = next(rule for rule in api("GET", "/payment-rules")["items"] if rule["name"] == name)
    assert (rule["min_amount_fen"], rule["active"]) == (10000, True)
    created(post(console, token, f"/console/payment-rules/{rule['id']}", {"min_amount_fen": "20000", "active": "on"}),
            f"/console/payment-rules/{rule['id']}")
    assert api("GET", f"/payment-rules/{rule['id']}")["min_amount_fen"] == 20000
    created(post(console, token, f"/console/payment-rules/{rule['id']}/disable", {}),
            f"/console/payment-rules/{rule['id']}")
    assert api("GET", f"/payment-rules/{rule['id']}")["active"] is False


def test_an_after_payment_rule_is_refused_with_the_apis_message(admin):
    console, token = admin
    refused(post(console, token, "/console/payment-rules", {"name": "r", "coupon_pack_id": "1"}),
            "min_amount_fen", "Missing data for required field.")


# -- stores and guides -----------------------------------------------------------------------------

def test_a_store_and_its_guide_are_added_and_the_guide_changed(admin, api):
    console, token = admin
    name = unique("store")
    created(post(console, token, "/console/stores", {"name": name}), "/console/stores")
    store = next(store for store in api("GET", "/stores")["items"] if store["name"] == name)
    page = console.get(f"/console/stores/{store['id']}").get_data(as_text=True)
    assert f'value="{store["id"]}"' in field(page, "store_id")  # the form is for this store
    phone = "138" + unique("p").rsplit("-", 1)[1].zfill(8)[-8:]
    created(post(console, token, f"/console/stores/{store['id']}/guides", {
        "store_id": str(store["id"]), "name": "小李", "phone": phone, "password": "guide-password",
        "qr_image_url": "https://example.com/qr.png"}), f"/console/stores/{store['id']}")
    guide = api("GET", f"/guides?store_id={store['id']}")["items"][0]
    assert (guide["name"], guide["phone"]) == ("小李", phone)
    page = console.get(f"/console/guides/{guide['id']}").get_data(as_text=True)
    assert 'src="https://example.com/qr.png"' in page and f"/console/guides/{guide['id']}/wxacode.png" in page
    created(post(console, token, f"/console/guides/{guide['id']}", {"name": "小李子", "phone": phone,
                                                                    "status": "active"}),
            f"/console/guides/{guide['id']}")
    assert api("GET", f"/guides/{guide['id']}")["name"] == "小李子"


def test_the_guides_mini_program_code_is_the_guide_areas(admin, store, wx):
    guide = store["add_guide"]()
    answer = admin[0].get(f"/console/guides/{guide['id']}/wxacode.png")
    assert answer.status_code == 200 and answer.mimetype == "image/png" and answer.data[:4] == b"\x89PNG"


def test_a_guides_members_move_to_another_guide_of_the_store(admin, store, client, make_member):
    console, token = admin
    leaving, staying = store["add_guide"](), store["add_guide"]()
    refused(post(console, token, f"/console/guides/{leaving['id']}/transfer", {"to_guide_id": str(leaving["id"]),
                                                                               "reason": "离职"}),
            "to_guide_id", "Not an active guide of this store.")
    answer = console.post(f"/console/guides/{leaving['id']}/transfer",
                          data={"to_guide_id": str(staying["id"]), "reason": "离职", "csrf_token": token},
                          follow_redirects=True)
    assert answer.status_code == 200 and "已转移会员 0 人" in answer.get_data(as_text=True)


def test_store_and_guide_forms_are_refused_with_the_apis_messages(admin, api):
    console, token = admin
    refused(post(console, token, "/console/stores", {"name": ""}), "name", "Missing data for required field.")
    store = api("POST", "/stores", {"name": unique("store")})
    refused(post(console, token, f"/console/stores/{store['id']}/guides", {
        "store_id": str(store["id"]), "name": "x", "phone": "13800000000", "password": "short"}),
        "password", "Length must be between 8 and 128.")


# -- what every form shares ------------------------------------------------------------------------

class Things(dict):
    """One of each thing a console form changes, made through the API when a URL names it (url.format_map)."""

    def __init__(self, api, pack, store):
        super().__init__()
        self.api, self.pack, self.store = api, pack, store

    def __missing__(self, kind):
        api, serial = self.api, int(unique("jk").rsplit("-", 1)[1])
        code = f"junk_{serial}"
        if kind == "store":
            made = self.store["id"]
        elif kind == "guide":
            made = self.store["add_guide"]()["id"]
        elif kind == "pack":
            made = self.pack["id"]
        elif kind == "template":
            made = self.pack["items"][0]["template_id"]
        elif kind == "level":
            made = api("POST", "/levels", {"code": code, "name": "junk", "threshold": 950_000_000 + serial})["id"]
        elif kind == "task":
            made = api("POST", "/tasks", {"code": code, "title": "junk", "kind": "daily", "event": "share",
                                          "enabled": False})["id"]
        elif kind == "rule":
            made = api("POST", "/payment-rules", {"name": "junk", "min_amount_fen": 1, "active": False,
                                                  "coupon_pack_id": self.pack["id"],
                                                  "store_id": self.store["id"]})["id"]
        else:
            made = api("POST", "/signin-rules", {"name": "junk", "cycle_days": 1, "rewards": [{"points": 1}]})["id"]
        self[kind] = made
        return made

    def clear_away(self):
        """What other tests would see: a level on the ladder, a version of the sign-in rules from tomorrow."""
        if "level" in self:
            self.api("DELETE", f"/levels/{self['level']}")
        if "signin" in self:
            self.api("DELETE", f"/signin-rules/{self['signin']}")


@pytest.fixture
def things(api, pack, store):
    made = Things(api, pack, store)
    yield made
    made.clear_away()


FORMS = ["/console/signin-rules", "/console/signin-rules/{signin}", "/console/levels", "/console/levels/{level}",
         "/console/level-policy", "/console/tasks", "/console/tasks/{task}", "/console/lotteries",
         "/console/coupon-templates", "/console/coupon-templates/{template}", "/console/coupon-packs",
         "/console/coupon-packs/{pack}", "/console/payment-rules", "/console/payment-rules/{rule}", "/console/stores",
         "/console/stores/{store}/guides",
         "/console/guides/{guide}", "/console/guides/{guide}/transfer"]
BUTTONS = ["/console/signin-rules/{signin}/delete", "/console/levels/{level}/delete", "/console/tasks/{task}/disable",
           "/console/payment-rules/{rule}/disable", "/console/lotteries/1/close",
           "/console/coupon-templates/{template}/disable"]


@pytest.mark.parametrize("url", FORMS + BUTTONS)
def test_a_viewer_may_not_post(app, things, url):
    console, token = signed_in(app, role="viewer")
    answer = console.post(url.format_map(things), data={"name": "viewer", "csrf_token": token})
    assert answer.status_code == 403


# every field of every form on these pages: junk goes into all of them (a form ignores the others)
NAMES = sorted({name for schema in (SigninRuleSchema, LevelSchema, PolicyFieldsSchema, TaskSchema, LotterySchema,
                                    CouponTemplateSchema, CouponPackSchema, PaymentRuleSchema, StoreSchema,
                                    OperatorGuideSchema, GuideChangesSchema, TransferSchema)
                for name in schema().fields})


JUNK = {"empty": lambda names: {}, "nul": lambda names: {name: "a\x00b" for name in names},
        "huge number": lambda names: {name: "9" * 5000 for name in names},
        "big number": lambda names: {name: "9" * 30 for name in names},
        "bad json": lambda names: {name: '[{"name": ' for name in names},
        "json of the wrong shape": lambda names: {name: '{"a": [1, {"b": null}]}' for name in names}}


@pytest.mark.parametrize("junk", JUNK)
@pytest.mark.parametrize("url", FORMS)
def test_junk_is_answered_with_the_form_not_a_500(app, things, url, junk):
    console, token = signed_in(app)
    url = url.format_map(things)
    answer = console.post(url, data={**JUNK[junk](NAMES), "csrf_token": token}, headers=HTMX)
    assert answer.status_code in (200, 422), answer.get_data(as_text=True)[-2000:]
    if answer.status_code == 422:
        assert 'role="alert"' in answer.get_data(as_text=True)


@pytest.mark.parametrize("url", FORMS)
def test_text_that_is_not_utf8_is_answered_not_a_500(app, things, url):
    console, token = signed_in(app)
    junk = "&".join(f"{name}=%ED%A0%80%FF" for name in NAMES)
    answer = console.post(url.format_map(things), data=f"{junk}&csrf_token={token}",
                          content_type="application/x-www-form-urlencoded", headers=HTMX)
    assert answer.status_code < 500
