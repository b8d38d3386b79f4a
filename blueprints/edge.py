"""The edge: what every request passes before a route sees it, so that nothing a client sends can
reach the database or WeChat malformed (CONTRACT.md: nothing a client sends answers 500).

- bodies are at most MAX_CONTENT_LENGTH (413 payload_too_large), webhooks included;
- JSON is JSON and nothing more: no NaN or Infinity, numbers of at most MAX_DIGITS digits, nesting
  at most MAX_DEPTH deep, text without NUL or lone UTF-16 surrogates (400 invalid_request);
- the same text rule for the path and the query string;
- an <int:…> in a route is an id the database can hold: a larger one is simply not found (404).
"""
import json

from flask import request
from flask_smorest import Blueprint as SmorestBlueprint
from flask_smorest.utils import resolve_schema_instance
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.routing import IntegerConverter, ValidationError

from blueprints import dumping
from services.platform.db import MAX_ID
from services.platform.errors import InvalidRequest

MAX_DEPTH = 32
MAX_DIGITS = 20  # longer than any amount, id or count the API takes


class MalformedText(ValueError):
    pass


def check_text(text: str, where: str) -> None:
    """Text the database and WeChat can take: no NUL, no lone surrogate (invalid UTF-8)."""
    if "\x00" in text:
        raise MalformedText(f"{where} holds a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedText(f"{where} holds a lone UTF-16 surrogate") from None


def _number(parse):
    def parse_number(literal: str):
        if len(literal.lstrip("-")) > MAX_DIGITS:
            raise ValueError(f"a number longer than {MAX_DIGITS} digits")
        return parse(literal)
    return parse_number


def _no_constant(literal: str):
    raise ValueError(f"{literal} is not a JSON number")


def _check_tree(data) -> None:
    """Depth and text of a parsed body, walked without recursion."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth > MAX_DEPTH:
                raise ValueError(f"nested more than {MAX_DEPTH} deep")
            if isinstance(value, dict):
                for key, item in value.items():
                    check_text(key, "a key")
                    stack.append((item, depth + 1))
            else:
                stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, str):
            check_text(value, "a text")


def load_json_body(raw: bytes):
    """A request body parsed as strict JSON; InvalidRequest saying why when it is not."""
    try:
        data = json.loads(raw.decode("utf-8"), parse_int=_number(int), parse_float=_number(float),
                          parse_constant=_no_constant)
        _check_tree(data)
    except RecursionError:
        raise InvalidRequest("The body is not valid JSON.", details={"body": [f"nested more than {MAX_DEPTH} deep"]})
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors too
        raise InvalidRequest("The body is not valid JSON.", details={"body": [str(exc)]}) from None
    return data


class StrictParser(FlaskParser):
    """webargs' Flask parser, reading JSON bodies with load_json_body."""

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return core.missing
        return load_json_body(req.get_data(cache=True))


class Blueprint(SmorestBlueprint):
    """flask-smorest's Blueprint with the strict JSON parser and fast response dumps
    (blueprints/dumping.py): every area's blueprint is one of these."""

    ARGUMENTS_PARSER = StrictParser()

    def response(self, status_code, schema=None, **kwargs):
        if schema is not None:
            schema = dumping.fast(resolve_schema_instance(schema))
        return super().response(status_code, schema, **kwargs)


class DatabaseId(IntegerConverter):
    """<int:…>: a non-negative id of at most MAX_ID; anything longer or larger is not found."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)

    def to_python(self, value: str):
        if len(value) > len(str(MAX_ID)):
            raise ValidationError()
        return super().to_python(value)


def check_request_text() -> None:
    """before_request: the path and the query string hold text the database can take."""
    try:
        check_text(request.path, "the path")
        for key, value in request.args.items(multi=True):
            check_text(key, "a query parameter")
            check_text(value, f"query parameter {key!r}")
    except MalformedText as exc:
        raise InvalidRequest("The request holds malformed text.", details={"request": [str(exc)]}) from None


def init_app(app) -> None:
    """Wire the edge into the app (before any blueprint is registered: routes bind their converters)."""
    app.url_map.converters["int"] = DatabaseId  # documented as integer 0…MAX_ID (it is an IntegerConverter)
    app.before_request(check_request_text)
