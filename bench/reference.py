"""A hand-written reference of the project's hot paths, for bench/run.py to measure beside the project.

    gunicorn -c bench/reference_gunicorn.py bench.reference:app

The same work as the project (same tables, same Redis keys, same answers), as lean as correct code can
do it: Flask, itsdangerous tokens, psycopg 3 in pipeline mode (a connection per thread: psycopg_pool is
not installed in the venv), redis-py; no ORM, no flask-smorest, no marshmallow, none of the project's
services on the request path. Every request is at most one SQL transaction (its statements pipelined:
one or two round trips) and one Redis round trip (two for a leaderboard whose rendered top is not
cached, as in the project).

Endpoints: GET /bench/bare, POST /api/v1/signin, GET /api/v1/signin/calendar?month=YYYY-MM,
GET /api/v1/me, GET /api/v1/leaderboards/points_week (any board of the project's five),
GET /api/v1/mall/goods?limit=N.

Configuration, read once at start-up (as a hand-written service caches its configuration): SECRET_KEY,
DATABASE_URL, REDIS_URL, TIMEZONE, MEMBER_TOKEN_TTL, POINTS_EXPIRY, SIGNIN_MAKEUP_PER_MONTH,
SIGNIN_MAKEUP_COST_POINTS from the environment (the project's defaults otherwise); the sign-in rule
versions, the level ladder, the level policy and the invitation rule from SQL. The project keeps
process copies of the same (services.platform.snapshots, refreshed every few seconds); the reference
does not refresh them: the benchmark changes none of them.

What a sign-in does (services/signin/signin.py and what it calls), for a plain sign-in under the
default rules:
  transaction: SELECT the member row FOR UPDATE (the member lock; the token version and the status are
  read with it), the history (count, longest streak, yesterday's streak, today signed?), then INSERT
  signin_record; UPDATE points_account (balance, lifetime_earned) and INSERT points_entry (balance_after,
  expires_at by POINTS_EXPIRY) and points_lot; UPDATE growth_account (total, lifetime) and INSERT
  growth_entry (total_after), the level the new total reaches returned with it (the project's
  reached_level_column); INSERT member_event ('signin'); COMMIT.
  after the commit, one Redis pipeline: the calendar bit (SETBIT signin:{m:<id>}:<YYYY-MM>), the totals
  (SET_NEWER on signin:{m:<id>}:totals), the points_week and points_month boards (the project's _EARN
  script: only boards that exist) and today's streak board (the project's _SET script).
Reproduced too, though a day-1 sign-in never reaches them: milestones (a badge row and the milestone's
points and growth, at streak 7/30/100 or 365 days in all); a frozen member (409 member_frozen when the
day pays points or growth, as the ledgers refuse it). Not reproduced, and refused (500) if ever reached,
so that the reference is never silently different: a reward with a coupon pack (the default rules
carry none); a growth total that reaches a higher level (the benchmark creates no levels: reached and
held are both none); a level policy other than "lifetime" and an invitation rule whose qualifying step
is the sign-in (checked at start-up: none in the benchmark). Not done: the project's poll for Redis
repairs (services.index.redis_repair.run_if_due, one SQL read every few seconds a process).
"""
import json
import os
import re
import threading
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import calendar as calendar_
import psycopg
import redis
from flask import Flask, Response, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from psycopg.types.json import Json

SECRET_KEY = os.environ["SECRET_KEY"]
DATABASE_URL = os.environ["DATABASE_URL"]
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
ZONE = ZoneInfo(os.environ.get("TIMEZONE") or "Asia/Shanghai")
TOKEN_TTL = int(os.environ.get("MEMBER_TOKEN_TTL") or 7 * 24 * 3600)
TTLS = {"member": TOKEN_TTL, "guide": TOKEN_TTL, "operator": int(os.environ.get("OPERATOR_TOKEN_TTL") or 12 * 3600)}
POINTS_EXPIRY = os.environ.get("POINTS_EXPIRY") or "year_after_next"
MAKEUP_PER_MONTH = int(os.environ.get("SIGNIN_MAKEUP_PER_MONTH") or 3)
MAKEUP_COST = int(os.environ.get("SIGNIN_MAKEUP_COST_POINTS") or 20)
INDEX_TTL, CARD_TTL, MARKER = 7 * 24 * 3600, 24 * 3600, 127
STREAK_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
BOARDS = {"points_week": ("week", 22), "points_month": ("month", 22), "streak": ("day", 32),
          "invites_week": ("week", 22), "invites_month": ("month", 22)}
MONTH = re.compile(r"^(?!0000)\d{4}-(0[1-9]|1[0-2])$")  # services/signin/calendar.py
NAMES_KEY, ANONYMOUS, TOP_CACHE_SECONDS, TOP_SIZE = "lb:names", "微信用户", 300, 100
COUNTED_STATUSES = ["pending_payment", "paid", "shipped", "completed"]
DEFAULT_RULE = {
    "id": None, "cycle_days": 7,
    "rewards": [{"points": p, "growth": g, "coupon_pack_id": None}
                for p, g in ((5, 1), (5, 1), (10, 1), (10, 1), (15, 2), (15, 2), (50, 5))],
    "milestones": [
        {"kind": "streak", "days": 7, "badge_code": "streak_7", "badge_name": "连签7天", "points": 20, "growth": 2,
         "coupon_pack_id": None},
        {"kind": "streak", "days": 30, "badge_code": "streak_30", "badge_name": "连签30天", "points": 100,
         "growth": 10, "coupon_pack_id": None},
        {"kind": "streak", "days": 100, "badge_code": "streak_100", "badge_name": "连签100天", "points": 300,
         "growth": 30, "coupon_pack_id": None},
        {"kind": "total", "days": 365, "badge_code": "total_365", "badge_name": "累计签到365天", "points": 1000,
         "growth": 100, "coupon_pack_id": None},
    ],
}

# -- Redis scripts: the same Lua as the project's (services/index/redis_index.py, leaderboards) ---------
SET_NEWER = """
local old = redis.call('GET', KEYS[1])
if old and (tonumber(string.match(old, '^%d+')) or -1) > tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
"""
_TOUCH_TOP = """
local after = redis.call('ZREVRANK', KEYS[1], ARGV[1])
if (before and before < %d) or (after and after < %d) then
  redis.call('INCR', KEYS[3])
  redis.call('DEL', KEYS[2])
end
""" % (TOP_SIZE, TOP_SIZE)
EARN = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local slot, value, secs = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local before = redis.call('ZREVRANK', KEYS[1], ARGV[1])
local old = redis.call('ZSCORE', KEYS[1], ARGV[1])
if old then
  old = tonumber(old)
  local v = math.floor(old / slot)
  value = value + v
  secs = math.max(secs, slot - 1 - (old - v * slot))
end
redis.call('ZADD', KEYS[1], string.format('%.17g', value * slot + (slot - 1 - secs)), ARGV[1])
""" + _TOUCH_TOP + "return 1"
SET_SCORE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local before = redis.call('ZREVRANK', KEYS[1], ARGV[1])
if ARGV[2] == '0' then redis.call('ZREM', KEYS[1], ARGV[1]) else redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1]) end
""" + _TOUCH_TOP + "return 1"
STANDINGS = """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local cached = redis.call('HGET', KEYS[2], ARGV[2])
local top = false
if not cached then top = redis.call('ZREVRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1, 'WITHSCORES') end
local mine = redis.call('ZSCORE', KEYS[1], ARGV[1])
local above = false
if mine then
  local slot = tonumber(ARGV[3])
  above = redis.call('ZCOUNT', KEYS[1], string.format('%.17g', (math.floor(tonumber(mine) / slot) + 1) * slot), '+inf')
end
return {cached or false, top, mine or false, above, redis.call('GET', KEYS[3]) or '0'}
"""
STORE_TOP = """
if (redis.call('GET', KEYS[3]) or '0') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[4])
return 1
"""
SCRIPTS = {"set_newer": SET_NEWER, "earn": EARN, "set": SET_SCORE, "standings": STANDINGS, "store_top": STORE_TOP}

app = Flask(__name__)
rds = redis.Redis.from_url(REDIS_URL)
SHA = {name: rds.script_load(lua) for name, lua in SCRIPTS.items()}
serializer = URLSafeTimedSerializer(SECRET_KEY, salt="bearer-token")
_local = threading.local()
_verified, VERIFIED_LIMIT = {}, 50_000  # as services/platform/tokens.py: a signature checked once a process


class Answer(Exception):
    """An error answer in the project's envelope."""

    def __init__(self, status, code, message, details=None):
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details or {}


@app.errorhandler(Answer)
def _answer(exc):
    return _json({"error": {"code": exc.code, "message": exc.message, "details": exc.details}}, exc.status)


def _json(data, status=200):
    return Response(json.dumps(data, ensure_ascii=False, separators=(",", ":")), status, mimetype="application/json")


def _iso(value):
    return value.isoformat() if value is not None else None


# -- connections --------------------------------------------------------------------------------

def conn() -> psycopg.Connection:
    """This thread's connection (gunicorn gthread: one a thread), reopened if it broke."""
    c = getattr(_local, "conn", None)
    if c is None or c.closed or c.broken:
        c = _local.conn = psycopg.connect(DATABASE_URL, options="-c timezone=UTC")
    return c


def _startup_sql():
    """What is cached for the process: sign-in rule versions, the ladder, the level policy, invite rules."""
    with psycopg.connect(DATABASE_URL, options="-c timezone=UTC") as c:
        rules = [{"effective_from": row[0], "id": row[1], "cycle_days": row[2], "rewards": row[3], "milestones": row[4]}
                 for row in c.execute("SELECT effective_from, id, cycle_days, rewards, milestones FROM signin_rule "
                                      "ORDER BY effective_from, id")]
        ladder = {row[0]: {"id": row[0], "code": row[1], "name": row[2], "threshold": row[3],
                           "makeup_cards_per_month": row[4], "mall_discount_pct": row[5]}
                  for row in c.execute("SELECT id, code, name, threshold, makeup_cards_per_month, mall_discount_pct "
                                       "FROM level")}
        windows = [row[0] for row in c.execute("SELECT growth_window FROM level_policy WHERE effective_from <= now() "
                                               "ORDER BY effective_from")]
        invite = c.execute("SELECT enabled, step FROM invite_rule ORDER BY id DESC LIMIT 1").fetchone()
    if windows and windows[-1] != "lifetime":
        raise SystemExit("reference: only the 'lifetime' level policy is written")
    if invite and invite[0] and invite[1] == "signin":
        raise SystemExit("reference: an invitation rule qualifying on the sign-in is not written")
    return rules, ladder


RULE_VERSIONS, LADDER = _startup_sql()


def rules_for(day: date) -> dict:
    current = DEFAULT_RULE
    for version in RULE_VERSIONS:
        if version["effective_from"] <= day:
            current = version
    return current


def reward_for(rule: dict, streak: int):
    cycle_day = (streak - 1) % rule["cycle_days"] + 1
    return cycle_day, rule["rewards"][cycle_day - 1]


# -- time ---------------------------------------------------------------------------------------

def now() -> datetime:
    return datetime.now(UTC)


def start_of_day(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=ZONE).astimezone(UTC)


def period(kind: str, at: datetime) -> tuple[str, datetime]:
    """The period key and start (UTC) of `at`'s business day, ISO week or month."""
    day = at.astimezone(ZONE).date()
    if kind == "day":
        return day.isoformat(), start_of_day(day)
    if kind == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}", start_of_day(day - timedelta(days=day.weekday()))
    return f"{day.year}-{day.month:02d}", start_of_day(day.replace(day=1))


def board_keys(name: str, at: datetime) -> list[str]:
    k = f"lb:{{{name}:{period(BOARDS[name][0], at)[0]}}}"
    return [k, f"{k}:top", f"{k}:v"]


def board_seconds(name: str, at: datetime) -> int:
    epoch = STREAK_EPOCH if name == "streak" else period(BOARDS[name][0], at)[1]
    return min(max(int((at - epoch).total_seconds()), 0), (1 << BOARDS[name][1]) - 1)


def expiry_for(earned_at: datetime):
    if POINTS_EXPIRY == "never":
        return None
    if POINTS_EXPIRY.startswith("days:"):
        return earned_at + timedelta(days=int(POINTS_EXPIRY.split(":", 1)[1]))
    return start_of_day(date(earned_at.astimezone(ZONE).year + 3, 1, 1))


# -- tokens -------------------------------------------------------------------------------------

def claims() -> tuple[int, int]:
    """(member id, token version) of the request's bearer token, checked as services/platform/tokens.py
    and blueprints/common.py do: signature (once a process), age against the kind's TTL, kind member."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Answer(401, "unauthorized", "Send a bearer token.", {"reason": "missing"})
    known = _verified.get(token)
    if known is None:
        try:
            (kind, principal, version), issued_at = serializer.loads(token, return_timestamp=True)
            known = (str(kind), int(principal), int(version), issued_at)
            TTLS[known[0]]
        except (BadSignature, ValueError, TypeError, KeyError):
            raise Answer(401, "unauthorized", "The token is not valid.", {"reason": "invalid"}) from None
        if len(_verified) >= VERIFIED_LIMIT:
            _verified.clear()
        _verified[token] = known
    kind, member_id, version, issued_at = known
    if (now() - issued_at).total_seconds() > TTLS[kind]:
        raise Answer(401, "unauthorized", "The token has expired.", {"reason": "expired"})
    if kind != "member":
        raise Answer(403, "forbidden", "This endpoint is for members.")
    return member_id, version


def revoked():
    return Answer(401, "unauthorized", "The token has been revoked.", {"reason": "revoked"})


def card_from_redis(member_id: int, version: int, raw) -> int | None:
    """The member card `token_version|level_id|joined day` fetched with the request's other keys (from
    SQL, and put back with SET NX, when missing, as services/members/cards.py); the level id."""
    if raw is None:
        row = conn().execute("SELECT token_version, level_id, created_at FROM member WHERE id = %s",
                             (member_id,)).fetchone()
        conn().rollback()
        if row is None:
            raise revoked()
        raw = f"{row[0]}|{row[1] or ''}|{row[2].astimezone(ZONE).date().isoformat()}".encode()
        rds.set(f"member:{{m:{member_id}}}:card", raw, nx=True, ex=CARD_TTL)
    held, level_id, _ = raw.decode().split("|")
    if int(held) != version:
        raise revoked()
    return int(level_id) if level_id else None


# -- bare ---------------------------------------------------------------------------------------

@app.get("/bench/bare")
def bare():
    return _json({"ok": True})


# -- sign-in ------------------------------------------------------------------------------------

LOCK = ("SELECT m.status, m.token_version, m.level_id, (SELECT total FROM growth_account WHERE member_id = m.id) "
        "FROM member m WHERE m.id = %s FOR UPDATE OF m")
HISTORY = ("SELECT count(*), max(streak), max(CASE WHEN day = %(before)s THEN streak END), "
           "count(CASE WHEN day = %(day)s THEN 1 END) FROM signin_record WHERE member_id = %(m)s")
INSERT_RECORD = ("INSERT INTO signin_record (member_id, day, kind, streak, cycle_day, rule_id, points, growth, coupons, "
                 "bonus, badges, paid_with, cost_points, created_at) VALUES (%(m)s, %(day)s, 'signed', %(streak)s, "
                 "%(cycle_day)s, %(rule_id)s, %(points)s, %(growth)s, %(coupons)s, %(bonus)s, %(badges)s, NULL, 0, "
                 "%(now)s) RETURNING id")
# the credit (the account's lock), the entry with the balance after it, its lot: one statement
EARN_POINTS = ("WITH credit AS (UPDATE points_account SET balance = balance + %(amount)s, "
               "lifetime_earned = lifetime_earned + %(amount)s WHERE member_id = %(m)s RETURNING balance), "
               "entry AS (INSERT INTO points_entry (member_id, delta, kind, reason, reference, business_key, "
               "balance_after, expires_at, created_at) SELECT %(m)s, %(amount)s, 'earn', 'signin', %(ref)s, %(key)s, "
               "balance, %(expires)s, %(now)s FROM credit RETURNING id) "
               "INSERT INTO points_lot (member_id, entry_id, amount, remaining, expires_at) "
               "SELECT %(m)s, id, %(amount)s, %(amount)s, %(expires)s FROM entry RETURNING entry_id")
# the credit and the entry with the total after it (the level the total reaches is decided before, on the
# total read under the member lock, which every growth change holds: services/ledger/growth.py)
EARN_GROWTH = ("WITH credit AS (UPDATE growth_account SET total = total + %(amount)s, "
               "lifetime = lifetime + %(amount)s WHERE member_id = %(m)s RETURNING total) "
               "INSERT INTO growth_entry (member_id, delta, total_after, kind, reason, reference, business_key, "
               "created_at) SELECT %(m)s, %(amount)s, total, 'earn', 'signin', %(ref)s, %(key)s, %(now)s FROM credit")
INSERT_EVENT = ("INSERT INTO member_event (member_id, type, business_key, reference, payload, occurred_at) "
                "VALUES (%(m)s, 'signin', %(key)s, %(ref)s, NULL, %(now)s) ON CONFLICT (business_key) DO NOTHING")
INSERT_BADGE = ("INSERT INTO member_badge (member_id, code, name, record_id, earned_at) "
                "SELECT %(m)s, %(code)s, %(name)s, id, %(now)s FROM signin_record WHERE member_id = %(m)s AND day = %(day)s")


@app.post("/api/v1/signin")
def sign_in():
    member_id, version = claims()
    at = now()
    today = at.astimezone(ZONE).date()
    c = conn()
    try:
        with c.pipeline():
            lock = c.execute(LOCK, (member_id,))
            history = c.execute(HISTORY, {"m": member_id, "day": today, "before": today - timedelta(days=1)})
        locked = lock.fetchone()
        if locked is None or locked[1] != version:
            raise revoked()
        total, longest, yesterday_streak, signed_today = history.fetchone()
        if signed_today:
            raise Answer(409, "already_signed_in", "This day is already signed in.")
        streak = (yesterday_streak or 0) + 1
        rule = rules_for(today)
        cycle_day, reward = reward_for(rule, streak)
        reached = {"streak": streak, "total": total + 1}
        candidates = [m for m in rule["milestones"] if reached[m["kind"]] >= m["days"]]
        if candidates:  # never for a day-1 sign-in: one more round trip, as the project's
            earned = {row[0] for row in c.execute("SELECT code FROM member_badge WHERE member_id = %s", (member_id,))}
            candidates = [m for m in candidates if m["badge_code"] not in earned]
        lines = [{"kind": "cycle", "cycle_day": cycle_day, **_amounts(reward)}]
        lines += [{"kind": "milestone", "badge_code": m["badge_code"], **_amounts(m)} for m in candidates]
        if any(line["coupon_pack_id"] for line in lines):
            raise Answer(500, "not_in_reference", "The reference does not hand out coupon packs.")
        points, growth = sum(line["points"] for line in lines), sum(line["growth"] for line in lines)
        badges = [{"code": m["badge_code"], "name": m["badge_name"]} for m in candidates]
        if locked[0] != "active" and (points or growth):  # the ledgers refuse a frozen member's earnings
            raise Answer(409, "member_frozen", "This member's points are frozen.")
        if growth and _rises(locked[2], _reached((locked[3] or 0) + growth)):
            raise Answer(500, "not_in_reference", "The reference does not move members up a level.")
        key, ref = f"signin:{member_id}:{today}", f"signin:{today}"
        with c.pipeline():
            c.execute(INSERT_RECORD, {"m": member_id, "day": today, "streak": streak, "cycle_day": cycle_day,
                                      "rule_id": rule["id"], "points": points, "growth": growth, "coupons": Json([]),
                                      "bonus": Json(lines), "badges": Json(badges), "now": at})
            for m in candidates:
                c.execute(INSERT_BADGE, {"m": member_id, "code": m["badge_code"], "name": m["badge_name"],
                                         "now": at, "day": today})
            if points:
                c.execute(EARN_POINTS, {"m": member_id, "amount": points, "ref": ref, "key": key,
                                        "expires": expiry_for(at), "now": at})
            if growth:
                c.execute(EARN_GROWTH, {"m": member_id, "amount": growth, "ref": ref, "key": key, "now": at})
            c.execute(INSERT_EVENT, {"m": member_id, "key": key, "ref": ref, "now": at})
            c.commit()  # in the pipeline: the writes and the COMMIT in one round trip
    except psycopg.errors.UniqueViolation:  # a parallel request signed this day in first
        c.rollback()
        raise Answer(409, "already_signed_in", "This day is already signed in.") from None
    except BaseException:
        c.rollback()
        raise
    # after the commit, one round trip: the calendar bit, the totals, the points boards, the streak board
    pipe = rds.pipeline(transaction=False)
    if points:
        for name in ("points_week", "points_month"):
            pipe.evalsha(SHA["earn"], 3, *board_keys(name, at), member_id, 1 << BOARDS[name][1], points,
                         board_seconds(name, at))
    pipe.setbit(f"signin:{{m:{member_id}}}:{today.year:04d}-{today.month:02d}", today.day - 1, 1)
    totals = f"{total + 1}|{today.isoformat()}|{streak}|{max(longest or 0, streak)}"
    pipe.evalsha(SHA["set_newer"], 1, f"signin:{{m:{member_id}}}:totals", total + 1, totals, INDEX_TTL)
    slot = 1 << 32
    pipe.evalsha(SHA["set"], 3, *board_keys("streak", at), member_id,
                 streak * slot + slot - 1 - board_seconds("streak", at))
    try:
        pipe.execute()
    except redis.RedisError:
        app.logger.warning("Redis index not written after sign-in of %s", member_id)
    return _json({"day": today.isoformat(), "kind": "signed", "streak": streak, "coupons": [], "points": points,
                  "growth": growth, "bonus": lines, "badges": badges, "cost_points": 0, "paid_with": None})


def _reached(total: int):
    """The level a growth total reaches (services/levels/levels.py level_for), from the cached ladder."""
    fitting = [level for level in LADDER.values() if level["threshold"] <= total]
    return max(fitting, key=lambda level: level["threshold"])["id"] if fitting else None


def _rises(held_id, reached_id) -> bool:
    return LADDER.get(reached_id, {}).get("threshold", -1) > LADDER.get(held_id, {}).get("threshold", -1)


def _amounts(reward: dict) -> dict:
    return {"points": reward.get("points", 0), "growth": reward.get("growth", 0),
            "coupon_pack_id": reward.get("coupon_pack_id")}


# -- calendar -----------------------------------------------------------------------------------

def _bits(raw: bytes, base: int) -> set:
    start = base // 8
    return {8 * i + n + 1 for i, byte in enumerate(raw[start:start + 4]) for n in range(8) if byte & (0x80 >> n)}


def _built(raw) -> bool:
    return raw is not None and len(raw) > MARKER // 8 and bool(raw[MARKER // 8] & (0x80 >> (MARKER % 8)))


@app.get("/api/v1/signin/calendar")
def calendar():
    member_id, version = claims()
    today = now().astimezone(ZONE).date()
    month = request.args.get("month")
    if month is None:
        first = today.replace(day=1)
    elif MONTH.match(month):
        first = date(int(month[:4]), int(month[5:]), 1)
    else:
        raise Answer(400, "invalid_request", "The request did not pass validation.", {"month": ["Use YYYY-MM."]})
    current = today.replace(day=1)
    keys = [f"member:{{m:{member_id}}}:card", f"signin:{{m:{member_id}}}:totals",
            f"signin:{{m:{member_id}}}:{first.year:04d}-{first.month:02d}"]
    if first != current:
        keys.append(f"signin:{{m:{member_id}}}:{current.year:04d}-{current.month:02d}")
    raw_card, raw_totals, raw_month, *raw_current = rds.mget(keys)  # one round trip, one hash tag
    level_id = card_from_redis(member_id, version, raw_card)
    raw_current = raw_current[0] if raw_current else raw_month
    if raw_totals is None or not _built(raw_month) or not _built(raw_current):
        raw_totals, raw_month, raw_current = _index_from_sql(member_id, first, current, raw_totals, raw_month,
                                                              raw_current)
    total, last_day, streak, longest = raw_totals.decode().split("|")
    last_day = date.fromisoformat(last_day) if last_day else None
    streak = int(streak) if last_day and last_day >= today - timedelta(days=1) else 0
    signed_today = last_day == today
    last = first.replace(day=calendar_.monthrange(first.year, first.month)[1])
    signed, made_up = _bits(raw_month, 0), _bits(raw_month, 32)
    n_now = today.day if (first.year, first.month) == (today.year, today.month) else 32 if first < today else 0
    days = [{"day": first.replace(day=n).isoformat(),
             "state": "made_up" if n in made_up else "signed" if n in signed else
             "missed" if n < n_now else "today" if n == n_now else "future"} for n in range(1, last.day + 1)]
    cards_left = max((LADDER.get(level_id) or {}).get("makeup_cards_per_month", 0) - len(_bits(raw_current, 64)), 0)
    left = max(MAKEUP_PER_MONTH - len(_bits(raw_current, 32)), 0)
    return _json({"month": f"{first.year:04d}-{first.month:02d}", "days": days, "streak": streak,
                  "longest_streak": int(longest), "total_days": int(total), "signed_today": signed_today,
                  "upcoming_rewards": _upcoming(today + timedelta(days=1) if signed_today else today, streak),
                  "makeup": {"left": left, "cards_left": min(cards_left, left),
                             "cost_points": 0 if cards_left else MAKEUP_COST}})


def _upcoming(start: date, streak: int) -> list:
    items, length = [], rules_for(start)["cycle_days"]
    for n in range(length):
        day = start + timedelta(days=n)
        cycle_day, reward = reward_for(rules_for(day), streak + 1 + n)
        items.append({"day": day.isoformat(), "cycle_day": cycle_day, "points": reward.get("points", 0),
                      "growth": reward.get("growth", 0), "coupon_pack_id": reward.get("coupon_pack_id")})
    return items


def _index_from_sql(member_id, first, current, raw_totals, raw_month, raw_current):
    """What the index lacks, from SQL (one transaction), and written back (one round trip), as
    services/signin/signin_index.py does on a read that finds a key missing."""
    c = conn()
    months = [first] if first == current else [first, current]
    with c.pipeline():
        totals = c.execute("SELECT count(*), max(streak), max(day), (SELECT streak FROM signin_record WHERE "
                           "member_id = %(m)s ORDER BY day DESC LIMIT 1) FROM signin_record WHERE member_id = %(m)s",
                           {"m": member_id})
        rows = [c.execute("SELECT extract(day FROM day)::int, kind, paid_with FROM signin_record "
                          "WHERE member_id = %s AND day BETWEEN %s AND %s",
                          (member_id, f, f.replace(day=calendar_.monthrange(f.year, f.month)[1]))) for f in months]
        c.rollback()
    count, longest, last_day, streak = totals.fetchone()
    rows = [cur.fetchall() for cur in rows]
    pipe = rds.pipeline(transaction=False)
    if raw_totals is None:
        raw_totals = (f"{count}|{last_day.isoformat()}|{streak}|{longest}" if count else "0||0|0").encode()
        pipe.evalsha(SHA["set_newer"], 1, f"signin:{{m:{member_id}}}:totals", count, raw_totals, INDEX_TTL)
    built = {}
    for f, month_rows in zip(months, rows):
        key = f"signin:{{m:{member_id}}}:{f.year:04d}-{f.month:02d}"
        if _built(raw_month if f == first else raw_current):
            continue
        bits = bytearray(16)
        for day, kind, paid_with in month_rows:
            for base, on in ((0, True), (32, kind == "made_up"), (64, paid_with == "card")):
                if on:
                    bits[(base + day - 1) // 8] |= 0x80 >> ((base + day - 1) % 8)
                    pipe.setbit(key, base + day - 1, 1)
        bits[MARKER // 8] |= 0x80 >> (MARKER % 8)
        pipe.setbit(key, MARKER, 1)
        pipe.expire(key, INDEX_TTL)
        built[f] = bytes(bits)
    try:
        pipe.execute()
    except redis.RedisError:
        pass
    raw_month = built.get(first, raw_month)
    raw_current = built.get(current, raw_current if first != current else raw_month)
    return raw_totals, raw_month, raw_current


# -- /me ----------------------------------------------------------------------------------------

@app.get("/api/v1/me")
def me():
    member_id, version = claims()
    at = now()
    c = conn()
    with c.pipeline():  # one round trip; the token version read with the member
        member = c.execute("SELECT m.id, m.nickname, m.avatar_url, m.phone, m.birthday, m.gender, m.status, "
                           "m.created_at, m.token_version, l.code, l.name, (SELECT total FROM growth_account WHERE "
                           "member_id = m.id), nl.name, nl.threshold FROM member m LEFT JOIN level l ON l.id = m.level_id "
                           "LEFT JOIN LATERAL (SELECT name, threshold FROM level WHERE threshold > coalesce(l.threshold, "
                           "-1) ORDER BY threshold LIMIT 1) nl ON true WHERE m.id = %s", (member_id,))
        figures = c.execute("SELECT balance, frozen, (SELECT coalesce(sum(remaining), 0) FROM points_lot WHERE "
                            "member_id = %(m)s AND remaining > 0 AND expires_at <= %(now)s) FROM points_account "
                            "WHERE member_id = %(m)s", {"m": member_id, "now": at})
        expiring = c.execute("SELECT expires_at, sum(remaining) FROM points_lot WHERE member_id = %(m)s AND remaining > 0 "
                             "AND expires_at > %(now)s GROUP BY expires_at ORDER BY expires_at LIMIT 3",
                             {"m": member_id, "now": at})
        guide = c.execute("SELECT g.id, g.name, s.name, g.status, g.wecom_qr_url, g.qr_image_url FROM guide_binding b "
                          "JOIN guide g ON g.id = b.guide_id JOIN store s ON s.id = g.store_id "
                          "WHERE b.member_id = %s", (member_id,))
        c.rollback()  # in the pipeline: BEGIN, the reads and ROLLBACK in one round trip
    row, figures, expiring, guide = member.fetchone(), figures.fetchone(), expiring.fetchall(), guide.fetchone()
    if row is None or row[8] != version:
        raise revoked()
    (_, nickname, avatar_url, phone, birthday, gender, status, created_at, _, code, name, growth,
     next_name, next_threshold) = row
    growth = growth or 0
    balance, frozen, expired_but_held = figures
    return _json({
        "id": member_id, "nickname": nickname, "avatar_url": avatar_url, "phone": phone, "birthday": _iso(birthday),
        "gender": gender, "status": status, "created_at": _iso(created_at),
        "level": {"code": code, "name": name, "growth": growth, "next_level": next_name,
                  "next_threshold": next_threshold,
                  "growth_to_next": max(next_threshold - growth, 0) if next_threshold is not None else None},
        "points": {"balance": balance, "frozen": frozen, "available": max(balance - frozen - expired_but_held, 0),
                   "expiring": [{"points": int(amount), "expires_at": _iso(when)} for when, amount in expiring]},
        "guide": None if guide is None else {"id": guide[0], "name": guide[1], "store": guide[2],
                                             "qr_url": (guide[4] or guide[5]) if guide[3] == "active" else None},
    })


# -- leaderboards -------------------------------------------------------------------------------

@app.get("/api/v1/leaderboards/<name>")
def leaderboard(name):
    member_id, version = claims()
    try:
        limit = int(request.args.get("limit", "50"))
    except ValueError:
        limit = 0
    if not 1 <= limit <= 100:
        raise Answer(422, "invalid_request", "The request did not pass validation.",
                     {"limit": ["Must be greater than or equal to 1 and less than or equal to 100."]})
    if name not in BOARDS:
        raise Answer(404, "not_found", "No such leaderboard.", {"boards": sorted(BOARDS)})
    keys, slot = board_keys(name, now()), 1 << BOARDS[name][1]
    pipe = rds.pipeline(transaction=False)  # the card and the board in one round trip
    pipe.get(f"member:{{m:{member_id}}}:card")
    pipe.evalsha(SHA["standings"], 3, *keys, member_id, limit, slot)
    raw_card, result = pipe.execute()
    card_from_redis(member_id, version, raw_card)
    if result is None:
        raise Answer(503, "not_in_reference", "The board is not in Redis (the reference does not rebuild it).")
    cached, flat, mine, above, board_version = result
    me_ = {"rank": None, "score": 0} if mine is None else {"rank": 1 + int(above), "score": int(float(mine)) // slot}
    if cached is not None:
        items = cached.decode()
    else:  # render the top (names from lb:names, SQL for the ones missing) and cache it, as the project
        top = [(int(flat[n]), int(float(flat[n + 1])) // slot) for n in range(0, len(flat), 2) if flat[n] != b"_"]
        ids = [mid for mid, _ in top]
        names = dict(zip(ids, rds.hmget(NAMES_KEY, ids))) if ids else {}
        missing = [mid for mid, value in names.items() if value is None]
        if missing:
            c = conn()
            people = {row[0]: row for row in c.execute("SELECT id, nickname, avatar_url FROM member WHERE id = ANY(%s)",
                                                       (missing,))}
            c.rollback()
            for mid in missing:
                names[mid] = f"{_mask(people[mid][1] if mid in people else '')}\t" \
                             f"{(people[mid][2] if mid in people else '') or ''}".encode()
            p = rds.pipeline(transaction=False)
            for mid in missing:
                p.hsetnx(NAMES_KEY, mid, names[mid])
            p.execute()
        ranked, rank = [], 0
        for position, (mid, value) in enumerate(top, start=1):
            rank = rank if ranked and ranked[-1]["score"] == value else position
            nickname, _, avatar = names[mid].decode().partition("\t")
            ranked.append({"rank": rank, "score": value, "member": {"nickname": nickname, "avatar_url": avatar}})
        items = json.dumps(ranked, ensure_ascii=False, separators=(",", ":"))
        rds.evalsha(SHA["store_top"], 3, *keys, board_version, limit, items, TOP_CACHE_SECONDS)
    body = '{"items":' + items + ',"me":' + json.dumps(me_, separators=(",", ":")) + "}"
    return Response(body, 200, mimetype="application/json")


def _mask(nickname) -> str:
    name = (nickname or "").strip()
    return name[0] + "*" * min(max(len(name) - 1, 1), 3) if name else ANONYMOUS


# -- the mall's goods ---------------------------------------------------------------------------

ON_SALE = ("status = 'on_sale' AND (starts_at IS NULL OR starts_at <= %(now)s) "
           "AND (ends_at IS NULL OR ends_at > %(now)s)")
GOODS = ("SELECT id, name, description, images, category, kind, price_points, price_fen, stock, per_order_limit, "
         "per_member_limit, min_level_id, starts_at, ends_at, status, level_discount FROM goods WHERE " + ON_SALE +
         " ORDER BY id DESC LIMIT %(limit)s")


@app.get("/api/v1/mall/goods")
def goods_page():
    member_id, version = claims()
    try:
        limit = int(request.args.get("limit", "20"))
    except ValueError:
        limit = 0
    if not 1 <= limit <= 100 or request.args.get("cursor") or request.args.get("category"):
        raise Answer(422, "not_in_reference", "The reference serves the first page of every category only.")
    at = now()
    c = conn()
    with c.pipeline():  # one round trip: the member (token version, level), the page, points, units ordered
        member = c.execute("SELECT token_version, level_id FROM member WHERE id = %s", (member_id,))
        page = c.execute(GOODS, {"now": at, "limit": limit + 1})
        figures = c.execute("SELECT balance, frozen, (SELECT coalesce(sum(remaining), 0) FROM points_lot WHERE "
                            "member_id = %(m)s AND remaining > 0 AND expires_at <= %(now)s) FROM points_account "
                            "WHERE member_id = %(m)s", {"m": member_id, "now": at})
        ordered = c.execute("SELECT goods_id, sum(quantity) FROM mall_order WHERE member_id = %(m)s AND status = ANY(%(s)s) "
                            "AND goods_id IN (SELECT id FROM goods WHERE " + ON_SALE + " AND per_member_limit IS NOT "
                            "NULL ORDER BY id DESC LIMIT %(limit)s) GROUP BY goods_id",
                            {"m": member_id, "s": COUNTED_STATUSES, "now": at, "limit": limit})
        c.rollback()
    member, rows, figures, ordered = member.fetchone(), page.fetchall(), figures.fetchone(), dict(ordered.fetchall())
    if member is None or member[0] != version:
        raise revoked()
    level_id = member[1]
    balance, frozen, expired_but_held = figures
    available = max(balance - frozen - expired_but_held, 0)
    level = LADDER.get(level_id)
    discount = level["mall_discount_pct"] if level else 100
    items = []
    for (gid, name, description, images, category, kind, price_points, price_fen, stock, per_order_limit,
         per_member_limit, min_level_id, starts_at, ends_at, status, level_discount) in rows[:limit]:
        needed = LADDER.get(min_level_id)
        cash = price_fen if not price_fen or not level_discount else max(price_fen * discount // 100, 1)
        items.append({
            "id": gid, "name": name, "description": description, "images": images, "category": category,
            "kind": kind, "price_points": price_points, "price_fen": price_fen, "stock": stock,
            "per_order_limit": per_order_limit, "per_member_limit": per_member_limit,
            "min_level": needed["code"] if needed else None, "starts_at": _iso(starts_at), "ends_at": _iso(ends_at),
            "on_sale": status == "on_sale" and (starts_at is None or starts_at <= at) and (ends_at is None or at < ends_at),
            "member_price_fen": cash, "affordable": available >= price_points,
            "locked_by_level": min_level_id is not None and needed is not None and (
                level is None or level["threshold"] < needed["threshold"]),
            "limit_left": None if per_member_limit is None else max(per_member_limit - ordered.get(gid, 0), 0)})
    more = len(rows) > limit
    cursor = None
    if more:
        import base64
        cursor = base64.urlsafe_b64encode(f"id:{rows[limit - 1][0]}".encode()).decode().rstrip("=")
    return _json({"items": items, "next_cursor": cursor})
