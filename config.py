"""Configuration: defaults → instance/config.py → environment (names from CONTRACT.md)."""
import json
import os
import secrets
from pathlib import Path

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
# WeCom is optional (unset: guides' uploaded QR images); with the development WeChat and no WECOM_CORP_ID
# of its own the app uses the development corp, whose API the sandbox serves at SANDBOX_URL + "cgi-bin/"

DEFAULTS = {
    "TIMEZONE": "Asia/Shanghai",
    **DEVELOPMENT_WECHAT,
    "WECHAT_NOTIFY_URL": "http://127.0.0.1:8700/api/v1/payments/wechat/notify",
    "WECHAT_REFUND_NOTIFY_URL": "http://127.0.0.1:8700/api/v1/payments/wechat/refund-notify",
    "WECHAT_MCH_CERT": None,  # paths to the merchant certificate and key (refunds need them at WeChat)
    "WECHAT_MCH_KEY": None,
    "WECHAT_TIMEOUT": 5,
    "MEMBER_TOKEN_TTL": 7 * 24 * 3600,
    "OPERATOR_TOKEN_TTL": 12 * 3600,
    # "year_after_next": end of the year after next; "days:N": N days after earning
    "POINTS_EXPIRY": "year_after_next",
    "POINT_VALUE_FEN": 1,
    "POINTS_PER_YUAN": 1,  # purchase points per whole yuan paid, before the level multiplier
    "GROWTH_PER_YUAN": 1,
    "PAYMENT_TIMEOUT_MINUTES": 15,  # an unpaid order is closed after this
    "RECONCILE_AFTER_MINUTES": 5,  # ask WeChat about payments still pending after this
    "GUIDE_RECEIPT_MAX_FEN": 5_000_000,  # the most one in-store receipt a guide records may carry (50,000 元)
    # the customer-service answer for a member without a guide (a store may set its own)
    "SERVICE_REPLY": "您好，欢迎光临！门店导购稍后为您服务。",
    "POINTS_EXPIRY_WARN_DAYS": 30,  # members are warned of points expiring within this many days
    "POINTS_EXPIRY_WARN_PAGE": "pages/points/index",
    "MALL_CONFIRM_DAYS": 7,  # a shipped mall order the member has not confirmed is completed after this
    "MESSAGE_MAX_ATTEMPTS": 8,  # subscribe-message sends before giving up
    "MESSAGE_RETRY_SECONDS": 30,  # first retry delay, doubled each time
    "MESSAGE_RETRY_MAX_SECONDS": 3600,
    "SIGNIN_MAKEUP_COST_POINTS": 20,  # a make-up sign-in without a make-up card
    "SIGNIN_MAKEUP_PER_MONTH": 3,  # make-ups a month, cards included
    "SIGNIN_REMINDER_HOUR": 20,  # business time after which unsigned members are reminded
    "SIGNIN_REMINDER_PAGE": "pages/signin/index",
    "ADMIN_POINTS_LIMIT": 1_000_000,
    "RATE_LIMITS_ENABLED": True,
    "PROXY_HOPS": 0,  # proxies in front whose X-Forwarded-For to trust for the client's address  # 0 turns every rate limit off (load tests from one address)
    "MAX_CONTENT_LENGTH": 1024 * 1024,  # bytes of a request body, webhooks included (413 above)
    "IDEMPOTENCY_LEASE_SECONDS": 120,  # a request in flight holds its Idempotency-Key this long at most
    "IDEMPOTENCY_KEEP_DAYS": 7,  # stored answers are replayed this long, then pruned
    "API_TITLE": "Loyalty API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
    "OPENAPI_SWAGGER_UI_PATH": "docs",
    "OPENAPI_SWAGGER_UI_URL": "https://cdn.jsdelivr.net/npm/swagger-ui-dist/",
    # no pre-ping: it costs a round trip per request; recycle connections before servers drop them
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_recycle": 1800},
    # connections kept per process: one per request thread (gunicorn's THREADS) and headroom for the
    # units of work that run after a commit, so a burst never opens (and times out opening) connections
    # of its own; None: THREADS + 4. A request that still finds none within DB_POOL_TIMEOUT seconds
    # answers 503. Size PostgreSQL's max_connections for workers × (pool + overflow).
    "DB_POOL_SIZE": None, "DB_POOL_OVERFLOW": 4, "DB_POOL_TIMEOUT": 10, "DB_CONNECT_TIMEOUT": 10,
    "JSON_AS_ASCII": False,
}

# Names read from the environment (CONTRACT.md), with their parsers.
ENV_NAMES = {
    "DATABASE_URL": str, "REDIS_URL": str, "SECRET_KEY": str, "TIMEZONE": str,
    "WECHAT_APPID": str, "WECHAT_SECRET": str, "WECHAT_MCH_ID": str, "WECHAT_PAY_KEY": str,
    "WECHAT_API_BASE_URL": str, "WECHAT_PAY_BASE_URL": str, "WECHAT_NOTIFY_URL": str,
    "WECHAT_REFUND_NOTIFY_URL": str, "WECHAT_MCH_CERT": str, "WECHAT_MCH_KEY": str,
    "WECHAT_TOKEN": str, "WECHAT_AES_KEY": str, "WECHAT_TEMPLATES": json.loads,
    "WECOM_CORP_ID": str, "WECOM_SECRET": str, "WECOM_TOKEN": str, "WECOM_AES_KEY": str,
    "WECOM_API_BASE_URL": str,
    "POINTS_EXPIRY": str, "POINT_VALUE_FEN": int, "POINTS_PER_YUAN": int, "GROWTH_PER_YUAN": int,
    "PAYMENT_TIMEOUT_MINUTES": int, "RECONCILE_AFTER_MINUTES": int, "MALL_CONFIRM_DAYS": int, "POINTS_EXPIRY_WARN_DAYS": int,
    "POINTS_EXPIRY_WARN_PAGE": str, "GUIDE_RECEIPT_MAX_FEN": int,
    "SERVICE_REPLY": str, "MESSAGE_MAX_ATTEMPTS": int,
    "MESSAGE_RETRY_SECONDS": int, "MESSAGE_RETRY_MAX_SECONDS": int, "SIGNIN_MAKEUP_COST_POINTS": int,
    "SIGNIN_MAKEUP_PER_MONTH": int, "SIGNIN_REMINDER_HOUR": int, "SIGNIN_REMINDER_PAGE": str,
    "IDEMPOTENCY_LEASE_SECONDS": int, "IDEMPOTENCY_KEEP_DAYS": int,
    "RATE_LIMITS_ENABLED": lambda value: value.strip().lower() not in ("0", "false", "no", "off"),
    "MAX_CONTENT_LENGTH": int, "PROXY_HOPS": int, "DB_POOL_SIZE": int, "DB_POOL_OVERFLOW": int,
    "DB_POOL_TIMEOUT": int, "DB_CONNECT_TIMEOUT": int,
}


def load_config(app, test_config=None):
    """Fill app.config from defaults, instance/config.py, the environment, then test overrides."""
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    for name, parse in ENV_NAMES.items():
        if os.environ.get(name):
            app.config[name] = parse(os.environ[name])
    if test_config:
        app.config.from_mapping(test_config)
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    app.config.setdefault("DATABASE_URL", f"sqlite:///{instance / 'loyalty.sqlite3'}")
    app.config["SQLALCHEMY_DATABASE_URI"] = _normalise_db_url(app.config["DATABASE_URL"])
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = _engine_options(app.config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(instance / "secret_key")
    sandbox = on_sandbox(app.config)
    for name, wechat_url in WECHAT_BASE_URLS.items():
        url = app.config.get(name) or (SANDBOX_URL if sandbox else wechat_url)
        app.config[name] = url.rstrip("/") + "/"
    wecom_defaults = DEVELOPMENT_WECOM if sandbox and "WECOM_CORP_ID" not in app.config else {}
    for name in DEVELOPMENT_WECOM:
        app.config.setdefault(name, wecom_defaults.get(name))
    on_wecom_sandbox = app.config["WECOM_CORP_ID"] == DEVELOPMENT_WECOM["WECOM_CORP_ID"]
    url = app.config.get("WECOM_API_BASE_URL") or (
        SANDBOX_URL + "cgi-bin/" if on_wecom_sandbox else WECOM_API_BASE_URL)
    app.config["WECOM_API_BASE_URL"] = url.rstrip("/") + "/"


def on_sandbox(config) -> bool:
    """WeChat is the sandbox: the app id is the development one (nothing real configured)."""
    return config["WECHAT_APPID"] == DEVELOPMENT_WECHAT["WECHAT_APPID"]


def _engine_options(config) -> dict:
    pool_size = config["DB_POOL_SIZE"] or int(os.environ.get("THREADS") or 4) + 4
    options = {**config["SQLALCHEMY_ENGINE_OPTIONS"], "pool_size": pool_size,
               "max_overflow": config["DB_POOL_OVERFLOW"], "pool_timeout": config["DB_POOL_TIMEOUT"]}
    if config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        options["connect_args"] = {"connect_timeout": config["DB_CONNECT_TIMEOUT"]}
    return options


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
