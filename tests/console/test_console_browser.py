"""The console in Chromium: signing in and out, a viewer refused, the dashboard's charts holding the figures
of GET /admin/stats, goods made in a form reaching the mall, a points adjustment reaching the member's
ledger, a field's error beside it, and a change without the CSRF token refused."""
from datetime import timedelta

from services.platform.clock import today as business_today
from tests.support.console import PASSWORD, new_operator

CONTRACT_CHARTS = ("new_members", "active_members", "signins", "points_issued", "points_spent", "points_expired",
                   "points_outstanding")


def sign_in(page, role: str = "admin") -> str:
    username = new_operator(role)
    page.goto("/console/login")
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url("**/console/**")
    return username


def chart_data(page, key: str) -> list:
    return page.evaluate("""key => {
        const chart = echarts.getInstanceByDom(document.querySelector(`[data-chart="${key}"]`));
        return chart.getOption().series[0].data;
    }""", key)


def test_sign_in_and_out(browser_page, screenshot):
    page = browser_page
    page.goto("/console/login")
    screenshot(page, "01-login")
    page.fill('input[name="username"]', new_operator())
    page.fill('input[name="password"]', "not the password")
    page.click('button[type="submit"]')
    assert "账号或密码错误" in page.inner_text('[role="alert"]')
    username = sign_in(page)
    assert page.get_attribute("[data-operator]", "data-operator") == username
    page.click("nav.menu button[type=submit]")  # 退出登录
    page.wait_for_url("**/console/login**")
    page.goto("/console/")
    assert "/console/login" in page.url


def test_the_dashboard_draws_the_figures_of_the_api(browser_page, client, login, operator, screenshot):
    for _ in range(3):
        member = login()
        assert client.post("/api/v1/signin", headers=member["headers"]).status_code == 200
    page = browser_page
    sign_in(page)
    today = business_today()
    since = today - timedelta(days=13)
    page.goto(f"/console/?from={since}&to={today}")
    page.wait_for_selector("body[data-charts-ready='1']")
    screenshot(page, "02-dashboard")
    figures = client.get(f"/api/v1/admin/stats?from={since}&to={today}", headers=operator()).get_json()
    assert len(figures["series"]) == 14 and figures["series"][-1]["signins"] >= 3
    for key in (*CONTRACT_CHARTS, "invitations"):
        assert chart_data(page, key) == [bucket[key] for bucket in figures["series"]], key
    cohorts = page.evaluate("""() => echarts.getInstanceByDom(document.querySelector('[data-chart="cohorts"]'))
                               .getOption().series[0].data.length""")
    assert cohorts == 3 * len(figures["cohorts"])
    assert page.inner_text('[data-kpi="signins"] .value').replace(",", "") == str(figures["totals"]["signins"])


def test_goods_made_in_the_console_are_in_the_mall_and_errors_sit_beside_their_field(
        browser_page, client, screenshot):
    page = browser_page
    sign_in(page)
    page.goto("/console/goods")
    form = page.locator("#new-goods")
    form.locator('[name="name"]').fill("")
    form.locator('[name="price_points"]').fill("12x")
    form.locator('button[type="submit"]').click()
    error = page.locator('#new-goods [data-field="price_points"] .field-error')
    error.wait_for()
    assert "Not a valid integer." in error.inner_text()
    assert "Missing data" in page.inner_text('#new-goods [data-field="name"] .field-error')
    screenshot(page, "03-goods-error")
    name = f"浏览器商品 {new_operator()}"
    page.fill('#new-goods [name="name"]', name)
    page.fill('#new-goods [name="price_points"]', "300")
    page.fill('#new-goods [name="price_fen"]', "0")
    page.fill('#new-goods [name="stock"]', "9")
    page.click('#new-goods button[type="submit"]')
    page.wait_for_selector(f'text="{name}"')
    screenshot(page, "04-goods")
    names = [goods["name"] for goods in client.get("/api/v1/mall/goods?limit=100").get_json()["items"]]
    assert name in names


def test_a_viewer_is_refused_a_change(browser_page):
    page = browser_page
    sign_in(page, role="viewer")
    page.goto("/console/goods")
    assert page.locator("#new-goods").count() == 0  # no form for a viewer
    status = page.evaluate("""async () => {
        const token = JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken'];
        const body = new URLSearchParams({name: 'viewer goods', kind: 'physical', price_points: '1',
                                          price_fen: '0', csrf_token: token});
        return (await fetch('/console/goods', {method: 'POST', body})).status;
    }""")
    assert status == 403


def test_a_change_without_the_csrf_token_is_refused(browser_page):
    page = browser_page
    sign_in(page)
    page.goto("/console/goods")
    status = page.evaluate("""async () => {
        const body = new URLSearchParams({name: 'forged', kind: 'physical', price_points: '1', price_fen: '0'});
        return (await fetch('/console/goods', {method: 'POST', body})).status;
    }""")
    assert status == 400


def test_every_menu_page_opens_for_a_viewer_on_a_laptop_screen(browser_page, screenshot):
    page = browser_page
    sign_in(page, role="viewer")
    links = page.eval_on_selector_all("nav.menu a[href^='/console/']", "els => els.map(e => e.pathname)")
    assert len(links) >= 2
    for number, path in enumerate(links, start=10):
        answer = page.goto(path)
        assert answer.status == 200, path
        assert page.evaluate("document.documentElement.scrollWidth") <= 1366, f"{path} scrolls sideways"
        screenshot(page, f"{number}-{path.strip('/').replace('/', '-')}")


def test_a_points_adjustment_reaches_the_members_ledger(browser_page, client, login, screenshot):
    member = login()
    page = browser_page
    sign_in(page)
    page.goto(f"/console/members?q={member['member']['id']}")
    page.click(f"a[href='/console/members/{member['member']['id']}']")
    form = page.locator("#adjust-points")
    form.locator('[name="delta"]').fill("250")
    form.locator('button[type="submit"]').click()
    form.locator('[data-field="reason"] .field-error').wait_for()  # the reason is required
    page.fill('#adjust-points [name="reason"]', "客服补偿 compensation")
    page.click('#adjust-points button[type="submit"]')
    page.wait_for_selector('[role="status"]')
    screenshot(page, "05-member")
    ledger = client.get("/api/v1/points/ledger", headers=member["headers"]).get_json()["items"]
    assert [(entry["delta"], entry["reason"]) for entry in ledger[:1]] == [(250, "admin_adjust")]
