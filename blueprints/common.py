"""What every area's routes share: auth decorators, the signed-in member, Idempotency-Key, the contract's lists
(paged and whole) and its error schema. The fields input schemas share are in blueprints/inputs.py."""
import hmac
import uuid
from copy import deepcopy
from functools import wraps

from flask import current_app, g, request
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from services.guides import guides
from services.members import members, operators
from services.platform import idempotency, tokens
from services.platform.errors import Forbidden, InvalidRequest, Unauthorized
from services.platform.rendered import RawJSON, render

AUTH_RESPONSES = {
    "401": {"description": "Missing, invalid, expired or revoked token", "content": {
        "application/json": {"schema": "Error"}}},
    "403": {"description": "The token's role may not use this endpoint", "content": {
        "application/json": {"schema": "Error"}}},
}


class ErrorDetailSchema(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    details = fields.Dict(required=True)


class ErrorSchema(Schema):
    """The contract's error envelope."""

    error = fields.Nested(ErrorDetailSchema, required=True)


class PageArgsSchema(Schema):
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    cursor = fields.String(load_default=None, validate=validate.Length(max=64))


def list_schema(item_schema, name):
    """A `{"items": [...]}` schema around an item schema (a whole, unpaged list)."""
    return Schema.from_dict({"items": fields.List(fields.Nested(item_schema))}, name=name)


def page_schema(item_schema, name):
    """A `{"items": [...], "next_cursor"}` schema around an item schema."""
    return Schema.from_dict({"items": fields.List(fields.Nested(item_schema)),
                             "next_cursor": fields.String(allow_none=True)}, name=name)


def paged(blp, item_schema, name, args=PageArgsSchema):
    """A paged list (CONTRACT.md, Lists): `?limit=&cursor=` and the filters `args` adds in, loaded for the
    view as @blp.arguments would (by query_args); the view's `{"items", "next_cursor"}` out, documented as `name`."""
    def decorator(view):
        return query_args(args)(blp.response(200, page_schema(item_schema, name))(view))
    return decorator


def listed(blp, item_schema, name):
    """A whole list: the view returns the items, answered as `{"items": [...]}` and documented as `name`."""
    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            return {"items": view(*args, **kwargs)}
        return blp.response(200, list_schema(item_schema, name))(wrapper)
    return decorator


QUERY_STRINGS_KEPT = 256


def query_args(schema_class, *, error_status: int = 422):
    """@blp.arguments(schema, location="query") for a hot read: the same schema documents the query
    string and validates it, loaded directly (webargs' parsing costs more than the whole read). The view
    receives the loaded arguments first, as with @blp.arguments. Loading is a function of the query
    string alone, so each valid one is loaded once per process (a few hundred kept)."""
    schema, loaded_once = schema_class(unknown=EXCLUDE), {}

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            loaded = loaded_once.get(request.query_string)
            if loaded is None:
                try:
                    loaded = schema.load(request.args)
                except ValidationError as err:
                    raise InvalidRequest("The request did not pass validation.", status=error_status,
                                         details=err.messages) from None
                if len(loaded_once) >= QUERY_STRINGS_KEPT:
                    loaded_once.clear()
                loaded_once[request.query_string] = loaded
            return view(*args, dict(loaded), **kwargs)
        wrapper._apidoc = deepcopy(getattr(view, "_apidoc", {}))
        manual = wrapper._apidoc.setdefault("manual_doc", {})
        manual.setdefault("parameters", []).append({"in": "query", "schema": schema_class})
        manual.setdefault("responses", {})[str(error_status)] = {
            "description": "Invalid query string", "content": {"application/json": {"schema": "Error"}}}
        return wrapper
    return decorator


def current_member():
    """The signed-in member's row (member_required puts only their card in g.card); 404 when it is gone."""
    return members.get_member(g.card.id)


def client_address() -> str:
    """The caller's IP address (the proxy's X-Forwarded-For when PROXY_HOPS says how many to trust)."""
    return request.remote_addr or "127.0.0.1"


def dumped(data: dict):
    """The answer of a hot read whose service returns it in its schema's JSON shape already: it skips
    the schema's dump (which costs more than the whole read), the schema still documents it, and a
    test holds the two together. Values that are rendered JSON already (RawJSON) go out as they are."""
    if not any(isinstance(value, RawJSON) for value in data.values()):
        return current_app.response_class(render(data) + "\n", mimetype="application/json")
    body = ",".join(f"{render(key)}:{value if isinstance(value, RawJSON) else render(value)}"
                    for key, value in data.items())
    return current_app.response_class("{" + body + "}\n", mimetype="application/json")


def _bearer_claims() -> tokens.Claims:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Send a bearer token.", details={"reason": "missing"})
    return tokens.verify(token.strip())


def _documented(wrapper):
    wrapper._apidoc = deepcopy(getattr(wrapper, "_apidoc", {}))
    manual = wrapper._apidoc.setdefault("manual_doc", {})
    manual["security"] = [{"bearerAuth": []}]
    manual.setdefault("responses", {}).update(AUTH_RESPONSES)
    return wrapper


def _role_required(kind: str, load, prefetch=None):
    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            claims = _bearer_claims()
            if claims.kind != kind:
                raise Forbidden(f"This endpoint is for {kind}s.")
            g.principal = f"{kind}:{claims.id}"
            load(claims, prefetch)
            return view(*args, **kwargs)
        return _documented(wrapper)
    return decorator


def _load_member(claims, prefetch):
    g.card, g.prefetched = members.authenticate(claims, prefetch)


def _keep_claims(claims, _prefetch):
    g.claims = claims


def _operator_loader(write):
    def load(claims, _prefetch):
        g.operator = operators.authenticate(claims, write=write)
    return load


member_required = _role_required("member", _load_member)
# for a view whose service reads the member's row anyway (the row a sign-in locks, the member read
# with GET /me's or the goods page's other reads): the token's signature and age are checked here,
# its version by the service against that row (lock_order.lock_member_and_read, cards.checked_read),
# so no card is read first; the view finds the claims in g.claims
member_claims = _role_required("member", _keep_claims)


def member_optional(view, *, required_by=member_required):
    """`required_by` (member_required) when a token is sent; without one the view runs for a visitor
    (g.card and g.claims None)."""
    required = required_by(view)

    @wraps(view)
    def wrapper(*args, **kwargs):
        if "Authorization" not in request.headers:
            g.card = g.claims = None
            return view(*args, **kwargs)
        return required(*args, **kwargs)
    wrapper._apidoc = required._apidoc
    return wrapper


def member_claims_optional(view):
    """member_claims when a token is sent; a visitor otherwise."""
    return member_optional(view, required_by=member_claims)


def member_reading(prefetch):
    """member_required for a hot read: the Redis calls `prefetch(member_id)` returns go in the same
    round trip as the token check (a single MGET when they are GETs of the member's own keys, which
    share the card's hash tag), and the view finds their results in g.prefetched (None when Redis is
    away). g.card is the member's card (services.members.cards.Card), as with member_required."""
    return _role_required("member", _load_member, prefetch)


def _load_guide(claims, _prefetch):
    g.guide = guides.authenticate(claims)


guide_required = _role_required("guide", _load_guide)
operator_required = _role_required("operator", _operator_loader(write=True))
operator_read_required = _role_required("operator", _operator_loader(write=False))


def scraper_required(view):
    """Prometheus' bearer token (METRICS_TOKEN, when configured) or any operator's."""
    as_operator = operator_read_required(view)

    @wraps(view)
    def wrapper(*args, **kwargs):
        expected = current_app.config["METRICS_TOKEN"]
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if expected and scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), expected.encode()):
            g.principal = "scraper"
            return view(*args, **kwargs)
        return as_operator(*args, **kwargs)
    return wrapper


def idempotent(view=None, *, required: bool = False):
    """Replay the first answer to a repeated Idempotency-Key (services.platform.idempotency).

    Goes below an auth decorator (the key is per caller) and above @blp.arguments (a validation
    error is an answer too). `required`: operator POSTs that move points or money refuse to run
    without a key (400), so that a double click cannot apply twice.
    """
    if view is None:
        return lambda view_: idempotent(view_, required=required)

    @wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if key is None:
            if required:
                raise InvalidRequest("This request moves points or money: send an Idempotency-Key header "
                                     "(the same one for every retry).",
                                     details={"Idempotency-Key": ["Missing data for required field."]})
            g.request_key = uuid.uuid4().hex
            return view(*args, **kwargs)
        if not 1 <= len(key) <= 128:
            raise InvalidRequest("Idempotency-Key must have 1 to 128 characters.")
        g.request_key = key
        fingerprint = idempotency.fingerprint(request.method, request.path, request.get_data())
        record_id, replay = idempotency.claim(g.principal, key, fingerprint)
        if replay is not None:
            return _replayed(replay)
        with idempotency.keyed(record_id):  # the work's first commit marks the key
            try:
                response = current_app.make_response(view(*args, **kwargs))
            except Exception as exc:  # the error's answer, as the app's handlers give it, is stored too
                response = current_app.make_response(current_app.handle_user_exception(exc))
        idempotency.finish(record_id, response.status_code, response.get_json(silent=True))
        return response

    wrapper._apidoc = deepcopy(getattr(view, "_apidoc", {}))
    if required:
        manual = wrapper._apidoc.setdefault("manual_doc", {})
        manual.setdefault("parameters", []).append({
            "in": "header", "name": "Idempotency-Key", "required": True, "schema": {"type": "string", "maxLength": 128},
            "description": "Required: the same key for every retry of one request; its first answer is replayed."})
    return wrapper


def _replayed(record):
    if record.response is None:
        return current_app.response_class(status=record.status_code)
    return record.response, record.status_code
