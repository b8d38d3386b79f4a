"""Guides in tests: member codes and scans, a member's guide, WeCom's callbacks built and delivered."""


def code_of(client, member):
    res = client.get("/api/v1/me/member-code", headers=member["headers"])
    assert res.status_code == 200, res.get_json()
    return res.get_json()


def scan(client, guide, code):
    return client.post("/api/v1/guide/scan", headers=guide["headers"], json={"member_code": code})


def guide_of(client, member):
    return client.get("/api/v1/me/guide", headers=member["headers"]).get_json()["guide"]


def build_callback(wx, path, **payload):
    """A callback the sandbox signs and encrypts without sending it."""
    return wx.post(path, send=False, **payload)


def deliver(client, request, path):
    """Send a callback the sandbox built (build_callback) to the app, as WeChat or WeCom would."""
    if request.get("body") is None:
        return client.get(path, query_string=request["params"])
    return client.post(path, query_string=request["params"], data=request["body"].encode(),
                       content_type="text/xml" if request["body"].lstrip().startswith("<") else "application/json")


def sent_to(wx, openid):
    return [item for item in wx.get("sent", kind="custom")["items"] if item.get("touser") == openid]
