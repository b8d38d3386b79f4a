"""No secret in any log line: WeChat's URLs carry the AppSecret, login codes and access tokens
(`…/sns/jscode2session?appid=…&secret=…&js_code=…`, `…?access_token=…`), and requests, urllib3 and
wechatpy put URLs into their messages and exceptions. Every record, from any logger, is scrubbed as
it is made: its message and its traceback.
"""
import logging
import re
import traceback

_SECRET_NAMES = "access_token|secret|js_code|session_key|refresh_token|mch_key"
_SECRETS = re.compile(rf"((?:{_SECRET_NAMES})=)[^&\s'\"<>]+|(\"(?:{_SECRET_NAMES})\"\s*:\s*\")[^\"]*", re.I)


def scrub(text: str) -> str:
    """`text` with every secret's value replaced by ***."""
    return _SECRETS.sub(lambda m: (m.group(1) or m.group(2)) + "***", text)


def install() -> None:
    """Scrub every log record as it is made (once per process, whoever calls it)."""
    make_record = logging.getLogRecordFactory()
    if getattr(make_record, "scrubs", False):
        return

    def scrubbed_record(*args, **kwargs):
        record = make_record(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: logging reports it as usual
            return record
        # the formatted message replaces the template either way: the handler need not format it again
        record.msg, record.args = scrub(message), ()
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = scrub("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
        return record

    scrubbed_record.scrubs = True
    logging.setLogRecordFactory(scrubbed_record)
