"""Configuration: one table of settings, SETTINGS (names from CONTRACT.md), each with its default, the parser
that reads it from the environment and what it means. An app's config is the defaults, then instance/config.py,
then the environment, then test overrides; `flask --app app settings` shows where each value came from, and
`--markdown` prints the README's table from the same rows."""
import copy
import json
import os
import re
import secrets
from pathlib import Path
from typing import Any, Callable, NamedTuple

from flask import Config


class Setting(NamedTuple):
    default: Any
    parse: Callable[[str], Any]  # from the environment's text
    doc: str
    secret: bool = False  # masked when shown


def flag(text: str) -> bool:
    """An environment switch: 0, false, no and off are off, anything else on."""
    return text.strip().lower() not in ("0", "false", "no", "off")


def host_ports(text: str) -> list[tuple[str, int]]:
    """[("host", port), …] from `host:port,host:port…`."""
    found = []
    for part in filter(None, (part.strip() for part in text.split(","))):
        host, _, port = part.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"not host:port: {part!r}")
        found.append((host, int(port)))
    return found


# The development WeChat: the credentials the WeChat sandbox (sandbox/, `flask wechat-sandbox`) answers to,
# the defaults until real ones are configured. The sandbox takes them from here, never the other way round.
DEVELOPMENT_WECHAT = {
    "WECHAT_APPID": "wx5a4db0c1sandbox",
    "WECHAT_SECRET": "sandbox-app-secret-0123456789abcdef",
    "WECHAT_MCH_ID": "1900000109",
    "WECHAT_PAY_KEY": "sandboxpaykey0123456789abcdefABC",
    "WECHAT_TOKEN": "sandboxtoken",
    "WECHAT_AES_KEY": "c2FuZGJveC13ZWNoYXQtcHVzaC1hZXMta2V5LTAxMjM",  # 43 chars, 32 bytes
    "WECHAT_TEMPLATES": {
        "pay_success": "sandbox-tpl-pay-success",
        "signin_reminder": "sandbox-tpl-signin-reminder",
        "points_expiring": "sandbox-tpl-points-expiring",
        "order_shipped": "sandbox-tpl-order-shipped",
        "level_grace": "sandbox-tpl-level-grace",
    },
}
# WeCom (企业微信): the corp, its customer-contact secret and the callback's token / EncodingAESKey
DEVELOPMENT_WECOM = {
    "WECOM_CORP_ID": "ww5a4db0c1sandbox0",
    "WECOM_SECRET": "sandbox-wecom-contact-secret-0123456789abcd",
    "WECOM_TOKEN": "sandboxwecomtoken",
    "WECOM_AES_KEY": "c2FuZGJveC13ZWNvbS1jYWxsYmFjay1hZXNrZXktMDE",  # 43 chars, 32 bytes
}

WECHAT_BASE_URLS = {"WECHAT_API_BASE_URL": "https://api.weixin.qq.com/",
                    "WECHAT_PAY_BASE_URL": "https://api.mch.weixin.qq.com/"}
SANDBOX_URL = "http://127.0.0.1:8701/"  # where the run script starts `flask wechat-sandbox`
WECOM_API_BASE_URL = "https://qyapi.weixin.qq.com/cgi-bin/"

SETTINGS = {
    "DATABASE_URL": Setting(None, str, "the database; unset: the SQLite file `instance/loyalty.sqlite3` "
                                       "(`postgresql://…` uses psycopg 3)"),
    "REDIS_URL": Setting(None, str, "Redis; unset: an embedded redis-server with its socket and data in `instance/`"),
    "REDIS_SENTINELS": Setting(None, host_ports,
                               "`host:port,host:port…` of Redis Sentinels: the app, the worker and RQ follow "
                               "the primary they name (REDIS_URL then only gives the database number and password)"),
    "REDIS_SENTINEL_MASTER": Setting("loyalty", str, "the name the Sentinels know the primary by"),
    "DATABASE_REPLICA_URL": Setting(None, str, "a read replica for reports (daily figures, the console's lists and "
                                               "exports); unset: the primary. Never used for a money decision"),
    "SECRET_KEY": Setting(None, str, "signs tokens; unset: generated into `instance/secret_key` on first run",
                          secret=True),
    "TIMEZONE": Setting("Asia/Shanghai", str, "business days, weeks and months are counted there"),
    "WECHAT_APPID": Setting(DEVELOPMENT_WECHAT["WECHAT_APPID"], str,
                            "the mini-program's AppID; the sandbox's means WeChat is the sandbox"),
    "WECHAT_SECRET": Setting(DEVELOPMENT_WECHAT["WECHAT_SECRET"], str, "the mini-program's AppSecret", secret=True),
    "WECHAT_MCH_ID": Setting(DEVELOPMENT_WECHAT["WECHAT_MCH_ID"], str, "the WeChat Pay v2 merchant id"),
    "WECHAT_PAY_KEY": Setting(DEVELOPMENT_WECHAT["WECHAT_PAY_KEY"], str, "the WeChat Pay v2 API key", secret=True),
    "WECHAT_API_BASE_URL": Setting(None, str, "WeChat's API host; unset: `https://api.weixin.qq.com/`, with "
                                              "the sandbox's app id the sandbox at `http://127.0.0.1:8701/`"),
    "WECHAT_PAY_BASE_URL": Setting(None, str, "WeChat Pay's host; unset: `https://api.mch.weixin.qq.com/`, "
                                              "with the sandbox's app id the sandbox"),
    "WECHAT_NOTIFY_URL": Setting("http://127.0.0.1:8700/api/v1/payments/wechat/notify", str,
                                 "this service's payment notify address, as WeChat Pay reaches it"),
    "WECHAT_REFUND_NOTIFY_URL": Setting("http://127.0.0.1:8700/api/v1/payments/wechat/refund-notify", str,
                                        "this service's refund notify address"),
    "WECHAT_MCH_CERT": Setting(None, str, "the merchant certificate file (WeChat needs it for refunds)"),
    "WECHAT_MCH_KEY": Setting(None, str, "the merchant certificate's key file"),
    "WECHAT_TOKEN": Setting(DEVELOPMENT_WECHAT["WECHAT_TOKEN"], str, "the message-push token", secret=True),
    "WECHAT_AES_KEY": Setting(DEVELOPMENT_WECHAT["WECHAT_AES_KEY"], str, "the message-push EncodingAESKey",
                              secret=True),
    "WECHAT_TEMPLATES": Setting(DEVELOPMENT_WECHAT["WECHAT_TEMPLATES"], json.loads,
                                "JSON: template key → subscribe template id"),
    "WECHAT_TIMEOUT": Setting(5, int, "seconds to wait for WeChat and WeCom"),
    "WECOM_CORP_ID": Setting(None, str, "the WeCom corp; unset: guides' uploaded QR images (with the sandbox's app "
                                        "id, the sandbox's corp)"),
    "WECOM_SECRET": Setting(None, str, "the WeCom corp's customer-contact secret", secret=True),
    "WECOM_TOKEN": Setting(None, str, "the WeCom callback's token", secret=True),
    "WECOM_AES_KEY": Setting(None, str, "the WeCom callback's EncodingAESKey", secret=True),
    "WECOM_API_BASE_URL": Setting(None, str, "WeCom's API; unset: `https://qyapi.weixin.qq.com/cgi-bin/`, with "
                                             "the sandbox's corp the sandbox's"),
    "MEMBER_TOKEN_TTL": Setting(7 * 24 * 3600, int, "seconds a member's (and a guide's) token lasts"),
    "OPERATOR_TOKEN_TTL": Setting(12 * 3600, int, "seconds an operator's token lasts"),
    "POINTS_EXPIRY": Setting("year_after_next", str, "when earned points lapse: `year_after_next` (the end of the "
                                                     "year after next), `days:N` (N days after earning) or `never`"),
    "POINT_VALUE_FEN": Setting(1, int, "what one point is worth, for the liability report"),
    "POINTS_PER_YUAN": Setting(1, int, "purchase points per whole yuan paid, times the level's multiplier"),
    "GROWTH_PER_YUAN": Setting(1, int, "purchase growth per whole yuan paid"),
    "PAYMENT_TIMEOUT_MINUTES": Setting(15, int, "an unpaid payment is closed after this (a later payment is "
                                                "refunded)"),
    "RECONCILE_AFTER_MINUTES": Setting(5, int, "ask WeChat about payments still pending after this"),
    "GUIDE_RECEIPT_MAX_FEN": Setting(5_000_000, int, "the most one in-store receipt a guide records may carry"),
    "SERVICE_REPLY": Setting("您好，欢迎光临！门店导购稍后为您服务。", str,
                             "the customer-service answer for a member without a guide (a store's own wins)"),
    "POINTS_EXPIRY_WARN_DAYS": Setting(30, int, "members holding a `points_expiring` grant are warned of points "
                                                "lapsing within this many days, once per expiry date"),
    "POINTS_EXPIRY_WARN_PAGE": Setting("pages/points/index", str, "the page the expiry warning opens"),
    "MALL_CONFIRM_DAYS": Setting(7, int, "a shipped mall order the member has not confirmed is completed after this"),
    "MESSAGE_MAX_ATTEMPTS": Setting(8, int, "subscribe-message sends before giving up"),
    "MESSAGE_RETRY_SECONDS": Setting(30, int, "the first retry's delay, doubled each time"),
    "MESSAGE_RETRY_MAX_SECONDS": Setting(3600, int, "the longest retry delay"),
    "SIGNIN_MAKEUP_COST_POINTS": Setting(20, int, "a make-up sign-in's price without a make-up card"),
    "SIGNIN_MAKEUP_PER_MONTH": Setting(3, int, "make-ups a month, cards included"),
    "SIGNIN_REMINDER_HOUR": Setting(20, int, "the business hour after which unsigned members are reminded"),
    "SIGNIN_REMINDER_PAGE": Setting("pages/signin/index", str, "the page the sign-in reminder opens"),
    "RATE_LIMITS_ENABLED": Setting(True, flag, "`0` turns every rate limit off (load tests from one address)"),
    "SESSION_COOKIE_SECURE": Setting(False, flag, "the operator console's session cookie only over HTTPS (set it in production)"),
    "METRICS_TOKEN": Setting(None, str, "a bearer token Prometheus may scrape `/metrics` with (operators' tokens "
                                        "may too); unset: operators only", secret=True),
    "LOG_FORMAT": Setting("json", str, "`json`: one JSON object per log line, with the request id; `text`: plain lines"),
    "PROXY_HOPS": Setting(0, int, "proxies in front whose `X-Forwarded-For` is trusted for the client's address"),
    "MAX_CONTENT_LENGTH": Setting(1024 * 1024, int, "the largest request body in bytes, webhooks included (413 "
                                                    "above)"),
    "IDEMPOTENCY_LEASE_SECONDS": Setting(120, int, "how long a request in flight holds its Idempotency-Key at most"),
    "IDEMPOTENCY_KEEP_DAYS": Setting(7, int, "how long stored answers are replayed, then pruned"),
    "API_TITLE": Setting("Loyalty API", str, "the OpenAPI document's title"),
    "API_VERSION": Setting("v1", str, "the OpenAPI document's version"),
    "OPENAPI_VERSION": Setting("3.0.3", str, "the OpenAPI version the document follows"),
    "OPENAPI_URL_PREFIX": Setting("/api/v1", str, "where the OpenAPI document and its docs page are served"),
    "OPENAPI_JSON_PATH": Setting("openapi.json", str, "the OpenAPI document's path under the prefix"),
    "OPENAPI_SWAGGER_UI_PATH": Setting("docs", str, "the docs page's path under the prefix"),
    "OPENAPI_SWAGGER_UI_URL": Setting("https://cdn.jsdelivr.net/npm/swagger-ui-dist/", str,
                                      "where the docs page loads Swagger UI from"),
    # no pre-ping: it costs a round trip per request; recycle connections before servers drop them
    "SQLALCHEMY_ENGINE_OPTIONS": Setting({"pool_recycle": 1800}, json.loads,
                                         "JSON: SQLAlchemy engine options (the pool settings below are added)"),
    # one connection per request thread and headroom for the units of work that run after a commit, so a
    # burst never opens (and times out opening) connections of its own
    "DB_POOL_SIZE": Setting(None, int, "database connections kept per process; unset: gunicorn's `THREADS` + 4"),
    "DB_POOL_OVERFLOW": Setting(4, int, "connections a process may open beyond its pool; PostgreSQL needs "
                                        "`max_connections` ≥ workers × (pool + overflow)"),
    "DB_POOL_TIMEOUT": Setting(10, int, "seconds a request waits for a pooled connection before a 503"),
    "DB_CONNECT_TIMEOUT": Setting(10, int, "seconds to wait for PostgreSQL to accept a connection"),
}


def load_config(app, test_config=None):
    """Fill app.config from the defaults, instance/config.py, the environment, then test overrides, and
    derive what depends on them; app.extensions["settings"] says where each setting came from."""
    sources = dict.fromkeys(SETTINGS, "default")
    app.config.from_mapping({name: copy.deepcopy(setting.default) for name, setting in SETTINGS.items()})
    for source, values in (("instance", _instance_file(app)), ("environment", _environment()),
                           ("test", test_config or {})):
        app.config.from_mapping(values)
        sources.update(dict.fromkeys(SETTINGS.keys() & values.keys(), source))
    app.extensions["settings"] = sources
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    app.config["DATABASE_URL"] = app.config["DATABASE_URL"] or f"sqlite:///{instance / 'loyalty.sqlite3'}"
    app.config["SQLALCHEMY_DATABASE_URI"] = _normalise_db_url(app.config["DATABASE_URL"])
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = _engine_options(app.config, app.config["SQLALCHEMY_DATABASE_URI"])
    app.config["SQLALCHEMY_BINDS"] = _replica_bind(app.config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(instance / "secret_key")
    _wechat_addresses(app.config, sources)


def _instance_file(app) -> Config:
    values = Config(app.instance_path)
    values.from_pyfile("config.py", silent=True)
    return values


def _environment() -> dict:
    """The settings the environment sets (an empty variable sets nothing), parsed."""
    return {name: setting.parse(os.environ[name]) for name, setting in SETTINGS.items() if os.environ.get(name)}


def _wechat_addresses(config, sources) -> None:
    """With the development WeChat (nothing real configured) WeChat is the sandbox, and so is WeCom unless
    a corp of its own is configured; otherwise WeChat's and WeCom's own hosts."""
    sandbox = on_sandbox(config)
    for name, wechat_url in WECHAT_BASE_URLS.items():
        url = config[name] or (SANDBOX_URL if sandbox else wechat_url)
        config[name] = url.rstrip("/") + "/"
    if sandbox and sources["WECOM_CORP_ID"] == "default":
        config.update({name: value for name, value in DEVELOPMENT_WECOM.items() if sources[name] == "default"})
    on_wecom_sandbox = config["WECOM_CORP_ID"] == DEVELOPMENT_WECOM["WECOM_CORP_ID"]
    url = config["WECOM_API_BASE_URL"] or (SANDBOX_URL + "cgi-bin/" if on_wecom_sandbox else WECOM_API_BASE_URL)
    config["WECOM_API_BASE_URL"] = url.rstrip("/") + "/"


def on_sandbox(config) -> bool:
    """WeChat is the sandbox: the app id is the development one (nothing real configured)."""
    return config["WECHAT_APPID"] == DEVELOPMENT_WECHAT["WECHAT_APPID"]


def described(app) -> list[tuple[str, str, str]]:
    """(name, value as shown, where it came from) of every setting of a loaded app."""
    sources = app.extensions["settings"]
    return [(name, shown(name, app.config[name]), sources[name]) for name in SETTINGS]


def readme_table() -> str:
    """The README's table of settings, from SETTINGS."""
    rows = ["| name | default | what it is |", "| --- | --- | --- |"]
    rows += [f"| `{name}` | {_readme_default(name)} | {setting.doc} |" for name, setting in SETTINGS.items()]
    return "\n".join(rows)


def _readme_default(name: str) -> str:
    if name in DEVELOPMENT_WECHAT:
        return "the sandbox's"
    return "unset" if SETTINGS[name].default is None else f"`{shown(name, SETTINGS[name].default)}`"


def shown(name: str, value) -> str:
    """A value as the environment would give it, a secret masked and a URL's password hidden."""
    if value is None or value == "":
        return "unset"
    if SETTINGS[name].secret:
        return "****"
    if isinstance(value, bool):
        return "1" if value else "0"
    text = json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else str(value)
    return re.sub(r"://([^:/@]*):[^@/]*@", r"://\1:****@", text)


def _engine_options(config, url: str) -> dict:
    pool_size = config["DB_POOL_SIZE"] or int(os.environ.get("THREADS") or 4) + 4
    options = {**config["SQLALCHEMY_ENGINE_OPTIONS"], "pool_size": pool_size,
               "max_overflow": config["DB_POOL_OVERFLOW"], "pool_timeout": config["DB_POOL_TIMEOUT"]}
    if url.startswith("postgresql"):
        options["connect_args"] = {"connect_timeout": config["DB_CONNECT_TIMEOUT"]}
    return options


REPLICA_BIND = "replica"  # the Flask-SQLAlchemy bind of DATABASE_REPLICA_URL (services/platform/replica.py)


def _replica_bind(config) -> dict:
    """SQLALCHEMY_BINDS: the replica with the primary's pool options, its PostgreSQL sessions read only
    (SQLite's connections are made read only as they open: services/platform/replica.py)."""
    if not config["DATABASE_REPLICA_URL"]:
        return {}
    url = _normalise_db_url(config["DATABASE_REPLICA_URL"])
    options = _engine_options(config, url)
    if url.startswith("postgresql"):
        options["connect_args"]["options"] = "-c default_transaction_read_only=on"
    return {REPLICA_BIND: {"url": url, **options}}


def _normalise_db_url(url):
    # psycopg 3 is the driver we ship; plain postgres URLs would ask for psycopg2
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _instance_secret(path):
    """Read the instance's secret key, creating it once (safe when several workers race)."""
    if not path.exists():
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(secrets.token_hex(32))
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)  # atomic: the first writer wins, the others read its key
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()
