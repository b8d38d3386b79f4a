"""In-memory, lock-protected state of the mini-program side of the sandbox."""
import base64
import secrets
import threading
import time
from collections import Counter

from .crypto import derived_id

FAULT_APIS = frozenset({
    "token", "stable_token", "jscode2session", "getuserphonenumber",
    "subscribe_send", "custom_send", "media_upload", "getwxacodeunlimit",
    "unifiedorder", "orderquery", "closeorder", "refund", "refundquery", "downloadbill",
    "wecom_gettoken", "add_contact_way", "get_contact_way", "del_contact_way",
    "externalcontact_get",
})
TOKEN_GRACE = 300  # a replaced /cgi-bin/token token stays valid this long
# Customer-service (客服消息) quota a user action opens: (messages, seconds). WeChat's rule:
# quotas do not add up; an action raises the count left and the deadline to at least its own.
CS_QUOTAS = {"message": (5, 48 * 3600), "enter_session": (2, 60)}


class ApiError(Exception):
    """A WeChat JSON error: {"errcode": N, "errmsg": "..."}."""

    def __init__(self, errcode, errmsg):
        super().__init__(errcode, errmsg)
        self.errcode, self.errmsg = errcode, errmsg


INVALID_CODE = (40029, "invalid code")


class Store:
    def __init__(self, config):
        self.config = config
        self.lock = threading.RLock()
        self.reset()

    def reset(self):
        with self.lock:
            self.offset = 0.0
            self.login_codes, self.phone_codes = {}, {}
            self.openids = set()
            self.tokens = {}            # token -> {"expires_at", "revoked_at"}
            self.stable_token = None
            self.faults = {}            # api -> [fault dict]
            self.sent = {"subscribe": [], "custom": []}
            self.cs_quota = {}          # openid -> {"left", "until"} (customer-service window)
            self.stats = Counter()
            self.seq = 0

    # -- clock -----------------------------------------------------------
    def now(self):
        return time.time() + self.offset

    def advance(self, seconds):
        with self.lock:
            self.offset += float(seconds)
            return self.offset

    def next_seq(self):
        with self.lock:
            self.seq += 1
            return self.seq

    def count(self, name, n=1):
        with self.lock:
            self.stats[name] += n

    # -- users and single-use codes --------------------------------------
    def user_ids(self, user):
        openid = derived_id("o", self.config.appid, user)
        unionid = derived_id("o", "unionid", user)
        return openid, unionid

    def mint_login_code(self, user):
        openid, unionid = self.user_ids(user)
        code = secrets.token_hex(16)
        with self.lock:
            self.openids.add(openid)
            self.login_codes[code] = {"user": user, "expires_at": self.now() + self.config.code_ttl}
        return {"code": code, "openid": openid, "unionid": unionid}

    def mint_phone_code(self, phone, country_code="86"):
        code = secrets.token_hex(16)
        with self.lock:
            self.phone_codes[code] = {"phone": phone, "country_code": country_code,
                                      "expires_at": self.now() + self.config.code_ttl}
        return {"code": code}

    def _redeem(self, table, code):
        with self.lock:
            entry = table.pop(code or "", None)
        if entry is None or entry["expires_at"] <= self.now():
            raise ApiError(*INVALID_CODE)
        return entry

    def redeem_login_code(self, code):
        user = self._redeem(self.login_codes, code)["user"]
        openid, unionid = self.user_ids(user)
        session_key = base64.b64encode(secrets.token_bytes(16)).decode("ascii")
        return {"openid": openid, "session_key": session_key, "unionid": unionid}

    def redeem_phone_code(self, code):
        return self._redeem(self.phone_codes, code)

    def is_known_openid(self, openid):
        with self.lock:
            return openid in self.openids

    def add_openid(self, openid):
        with self.lock:
            self.openids.add(openid)

    # -- customer-service window -------------------------------------------
    def open_cs_window(self, openid, action):
        """The user wrote (``message``) or entered the contact session (``enter_session``)."""
        count, seconds = CS_QUOTAS[action]
        with self.lock:
            now = self.now()
            quota = self.cs_quota.get(openid)
            if quota is None or quota["until"] <= now:
                quota = self.cs_quota[openid] = {"left": 0, "until": now}
            quota["left"] = max(quota["left"], count)
            quota["until"] = max(quota["until"], now + seconds)
            return dict(quota)

    def take_cs_message(self, openid):
        """One customer-service message to ``openid``: 45015 outside the window, 45047 over it."""
        with self.lock:
            quota = self.cs_quota.get(openid)
            if quota is None or quota["until"] <= self.now():
                raise ApiError(45015, "response out of time limit or subscription is canceled")
            if quota["left"] <= 0:
                raise ApiError(45047, "out of response count limit")
            quota["left"] -= 1

    # -- access tokens ---------------------------------------------------
    def _new_token(self):
        token = secrets.token_urlsafe(96)
        self.tokens[token] = {"expires_at": self.now() + self.config.token_ttl, "revoked_at": None}
        return token

    def _answer(self, token):
        remaining = max(0, round(self.tokens[token]["expires_at"] - self.now()))
        return {"access_token": token, "expires_in": remaining}

    def issue_token(self):
        """/cgi-bin/token: always a new token; older ones keep 5 minutes of grace."""
        with self.lock:
            limit = self.now() + TOKEN_GRACE
            for info in self.tokens.values():
                info["revoked_at"] = min(info["revoked_at"] or limit, limit)
            self.stats["token_fetches"] += 1
            return self._answer(self._new_token())

    def issue_stable_token(self, force_refresh=False):
        with self.lock:
            current = self.tokens.get(self.stable_token)
            self.stats["token_fetches"] += 1
            if current and not force_refresh and self._token_error(self.stable_token) is None:
                return self._answer(self.stable_token)
            if current:
                current["revoked_at"] = self.now()
            self.stable_token = self._new_token()
            return self._answer(self.stable_token)

    def _token_error(self, token):
        info = self.tokens.get(token)
        if not token:
            return (41001, "access_token missing")
        if info is None or (info["revoked_at"] is not None and info["revoked_at"] <= self.now()):
            return (40001, "invalid credential, access_token is invalid or not latest")
        if info["expires_at"] <= self.now():
            return (42001, "access_token expired")
        return None

    def check_token(self, token):
        with self.lock:
            error = self._token_error(token)
        if error:
            raise ApiError(*error)

    def expire_tokens(self):
        with self.lock:
            for info in self.tokens.values():
                info["expires_at"] = min(info["expires_at"], self.now())

    # -- fault injection -------------------------------------------------
    def add_fault(self, api, fault):
        with self.lock:
            self.faults.setdefault(api, []).append(fault)

    def clear_faults(self):
        with self.lock:
            self.faults.clear()

    def take_fault(self, api):
        """The fault queued for ``api``, consuming one use of it, or None."""
        with self.lock:
            queue = self.faults.get(api) or []
            if not queue:
                return None
            fault = queue[0]
            if fault["times"] > 0:
                fault["times"] -= 1
                if fault["times"] == 0:
                    queue.pop(0)
            return dict(fault)

    # -- sent messages ---------------------------------------------------
    def record(self, kind, item):
        with self.lock:
            self.sent[kind].append(item)

    def sent_items(self, kind=None):
        with self.lock:
            kinds = [kind] if kind else list(self.sent)
            return [dict(item, kind=k) for k in kinds for item in self.sent[k]]

    def clear_sent(self):
        with self.lock:
            for items in self.sent.values():
                items.clear()

    def snapshot_stats(self):
        with self.lock:
            stats = dict(self.stats)
        stats.setdefault("token_fetches", 0)
        return stats
