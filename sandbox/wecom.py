"""WeCom (企业微信) state: access tokens, 联系我 contact ways and external contacts.

Shares the Store's lock and clock. Which staff userids exist: every userid does, unless the
control API marked it unknown (then add_contact_way answers 60111, as WeCom does for a userid
that is not in the corp).
"""
import secrets

from .crypto import derived_id
from .store import ApiError

STATE_MAX = 30     # 企业自定义的state参数, 不超过30个字符
REMARK_MAX = 30
USERS_MAX = 100    # type 2 (多人): at most 100 userids
MORE_INFO = "more info at https://open.work.weixin.qq.com/devtool/query?e={}"


def wecom_error(errcode, message):
    """ApiError worded like WeCom's: '<message>, more info at …?e=<errcode>'."""
    return ApiError(errcode, f"{message}, {MORE_INFO.format(errcode)}")


def invalid(hint):
    return wecom_error(40058, f"invalid parameter, hint: [{hint}]")


def _checked_way(body):
    """(type, scene, users, parties) of an add_contact_way body, or WeCom's 40058."""
    kind, scene = body.get("type"), body.get("scene")
    if kind not in (1, 2) or isinstance(kind, bool):
        raise invalid("type must be 1 or 2")
    if scene not in (1, 2) or isinstance(scene, bool):
        raise invalid("scene must be 1 or 2")
    for name, limit in (("state", STATE_MAX), ("remark", REMARK_MAX)):
        value = body.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            raise invalid(f"{name} exceeds {limit} characters")
    users, parties = body.get("user") or [], body.get("party") or []
    if not isinstance(users, list) or not all(isinstance(u, str) and u for u in users):
        raise invalid("user must be a list of userids")
    if not isinstance(parties, list):
        raise invalid("party must be a list of department ids")
    if kind == 1 and (len(users) != 1 or parties):
        raise invalid("type 1 needs exactly one user and no party")
    if kind == 2 and (not (users or parties) or len(users) > USERS_MAX):
        raise invalid(f"type 2 needs 1 to {USERS_MAX} users or a party")
    return kind, scene, users, parties


class WeComBook:
    def __init__(self, store):
        self.store = store
        self.config = store.config
        self.lock = store.lock
        self.reset()

    def reset(self):
        with self.lock:
            self.tokens = {}            # token -> expires_at
            self.current_token = None
            self.unknown_users = set()
            self.contact_ways = {}      # config_id -> the way as get_contact_way answers it
            self.contacts = {}          # external_userid -> {"external_contact", "follow_user": {userid: …}}

    # -- gettoken ----------------------------------------------------------
    def issue_token(self, corpid, corpsecret):
        """WeCom's gettoken: the same token while it is valid, a new one after it expired."""
        if not corpid:
            raise wecom_error(41002, "corpid missing")
        if corpid != self.config.wecom_corp_id:
            raise wecom_error(40013, "invalid corpid")
        if not corpsecret:
            raise wecom_error(41004, "corpsecret missing")
        if corpsecret != self.config.wecom_secret:
            raise wecom_error(40001, "invalid credential")
        with self.lock:
            now = self.store.now()
            self.store.stats["wecom_token_fetches"] += 1
            if self.tokens.get(self.current_token, 0) <= now:
                self.current_token = secrets.token_urlsafe(96)
                self.tokens[self.current_token] = now + self.config.token_ttl
            remaining = round(self.tokens[self.current_token] - now)
            return {"errcode": 0, "errmsg": "ok", "access_token": self.current_token,
                    "expires_in": remaining}

    def check_token(self, token):
        with self.lock:
            expires_at = self.tokens.get(token)
            now = self.store.now()
        if not token:
            raise wecom_error(41001, "access_token missing")
        if expires_at is None:
            raise wecom_error(40014, "invalid access_token")
        if expires_at <= now:
            raise wecom_error(42001, "access_token expired")

    def expire_tokens(self):
        with self.lock:
            now = self.store.now()
            for token, expires_at in self.tokens.items():
                self.tokens[token] = min(expires_at, now)

    # -- staff -----------------------------------------------------------------
    def set_user_known(self, userid, known):
        with self.lock:
            (self.unknown_users.discard if known else self.unknown_users.add)(userid)

    def _check_users(self, users):
        with self.lock:
            for userid in users:
                if userid in self.unknown_users:
                    raise wecom_error(60111, f"userid not found, hint: [{userid}]")

    # -- 联系我 ------------------------------------------------------------------
    def add_contact_way(self, body, qr_base):
        kind, scene, users, parties = _checked_way(body)
        self._check_users(users)
        config_id = secrets.token_hex(16)
        way = {"config_id": config_id, "type": kind, "scene": scene,
               "style": body.get("style"), "remark": body.get("remark") or "",
               "skip_verify": body.get("skip_verify", True) is not False,
               "state": body.get("state") or "", "user": list(users), "party": list(parties)}
        answer = {"errcode": 0, "errmsg": "ok", "config_id": config_id}
        if scene == 2:  # WeCom returns qr_code only for 通过二维码联系
            way["qr_code"] = answer["qr_code"] = f"{qr_base}{config_id}"
        with self.lock:
            self.contact_ways[config_id] = way
        return answer

    def contact_way(self, config_id):
        with self.lock:
            way = self.contact_ways.get(config_id or "")
        if way is None:
            raise invalid("config_id not found")
        return {k: v for k, v in way.items() if v is not None}

    def del_contact_way(self, config_id):
        with self.lock:
            if self.contact_ways.pop(config_id or "", None) is None:
                raise invalid("config_id not found")

    def list_contact_ways(self):
        with self.lock:
            return [dict(way) for way in self.contact_ways.values()]

    # -- external contacts ---------------------------------------------------
    def external_userid(self, unionid=None, user=None):
        """A stable external_userid for a WeChat user (as WeCom's, per corp), else a new one."""
        seed = unionid or user
        if seed:
            return derived_id("wm", self.config.wecom_corp_id, seed, length=30)
        return "wm" + secrets.token_urlsafe(23)[:30]

    def add_follow(self, external_userid, userid, state, unionid=None, name=None):
        with self.lock:
            now = int(self.store.now())
            contact = self.contacts.setdefault(external_userid, {
                "external_contact": {"external_userid": external_userid,
                                     "name": name or "微信用户", "type": 1,
                                     "avatar": "", "gender": 0},
                "follow_user": {}})
            info = contact["external_contact"]
            if unionid:
                info["unionid"] = unionid
            if name:
                info["name"] = name
            follow = {"userid": userid, "remark": "", "description": "", "createtime": now,
                      "tags": [], "remark_mobiles": [], "add_way": 1,
                      "oper_userid": external_userid}  # the customer scanned the code
            if state:
                follow["state"] = state
            contact["follow_user"][userid] = follow
            return follow

    def remove_follow(self, external_userid, userid):
        with self.lock:
            contact = self.contacts.get(external_userid)
            if contact:
                contact["follow_user"].pop(userid, None)

    def get_contact(self, external_userid):
        if not external_userid:
            raise wecom_error(40096, "invalid external userid")
        with self.lock:
            contact = self.contacts.get(external_userid)
            follows = list(contact["follow_user"].values()) if contact else []
            if not follows:
                raise wecom_error(84061, "not external contact")
            return {"errcode": 0, "errmsg": "ok",
                    "external_contact": dict(contact["external_contact"]),
                    "follow_user": [dict(f) for f in follows]}
