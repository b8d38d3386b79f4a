"""The project's app with bench-only routes: the bare endpoint with ONE more of its per-request layers.

    gunicorn -c gunicorn.conf.py "bench.layers_app:create()"     (bench/layers.py starts it so)

Every route under /bench/layer/ answers `{"ok": true}` like GET /bench/bare (blueprints/health.py) and
adds one layer, composed of the project's own pieces, as the real routes compose them:

    raw_wsgi          below bare: answered by a WSGI middleware before Flask (gunicorn alone)
    bare_post         POST with a `{}` body, not read (what a POST costs over a GET)
    edge              POST: the edge's path/query check once more (bare already runs it, as a
                      before_request of every route) and the strict JSON parser on the body
                      (blueprints.edge.load_json_body: what @blp.arguments on a JSON body reads through)
    token             the bearer token (blueprints.common._bearer_claims: services.platform.tokens.verify)
    token_revocation  member_required: the token and the member card (members.authenticate: one MGET)
    rate_limit        one services.platform.ratelimit.check (limit never reached)
    idempotency       @idempotent (sent without an Idempotency-Key, as bench/run.py's wrk sends POST /signin)
    idempotency_key   @idempotent with a new Idempotency-Key every request (claim, keyed, finish: 2 commits)
    smorest_response  @blp.response(200, schema) on the project's edge.Blueprint (serialisation)
    smorest           @blp.arguments(query schema) + @blp.response (webargs parsing and serialisation)
    smorest_json      POST: @blp.arguments(JSON body schema, the strict parser) + @blp.response
    transaction       services.platform.db.transaction() with nothing in it
    orm               transaction(): a read of the member row (db.session.get) and the commit
    orm_lock          transaction(): the member row's lock (services.platform.lock_order.lock_member,
                      SELECT … FOR UPDATE, as POST /signin) and the commit
    orm_write         transaction(): the member row's lock and a one-row UPDATE of a bench-only table
    redis_index       transaction() + a SETBIT through services.index.redis_index.write_after_commit
    all               POST, stacked like POST /api/v1/signin: member_required, @idempotent,
                      @blp.response, transaction(lock_member, the UPDATE), the Redis index write after commit

Routes that need a member without a token (orm, orm_lock, orm_write, redis_index) take the next id of a
process-wide counter over BENCH_LAYER_MEMBERS ("first,last"; set by bench/layers.py), so that 8 threads
never wait on one row lock. The bench-only table `bench_layer_row (id, n)` is created by bench/layers.py.
"""
import itertools
import os
import threading

from flask import Blueprint as FlaskBlueprint
from flask import g, jsonify, request
from marshmallow import Schema, fields, validate
from sqlalchemy import bindparam, column, table, update

from app import create_app
from blueprints import common, edge
from blueprints.common import idempotent, member_required
from models import Member, db
from services.index import redis_index
from services.platform import clock, ratelimit
from services.platform.db import execute_prebuilt, transaction
from services.platform.lock_order import lock_member

PREFIX = "/bench/layer"
RAW_PATH = f"{PREFIX}/raw_wsgi"
RAW_BODY = b'{"ok":true}\n'
RATE_LIMIT = 10 ** 9  # never reached

_rows = table("bench_layer_row", column("id"), column("n"))
_BUMP = update(_rows).where(_rows.c.id == bindparam("row")).values(n=_rows.c.n + 1)


class BenchArgsSchema(Schema):
    note = fields.String(load_default=None, validate=validate.Length(max=32))


class BenchOkSchema(Schema):
    ok = fields.Boolean()


class _Members:
    """The next member id of the seeded range, round robin across the worker's threads."""

    def __init__(self):
        first, last = (int(n) for n in os.environ.get("BENCH_LAYER_MEMBERS", "1,1").split(","))
        self.first, self.size = first, last - first + 1
        self.counter, self.lock = itertools.count(), threading.Lock()

    def next(self) -> int:
        with self.lock:
            return self.first + next(self.counter) % self.size


def _ok():
    return jsonify({"ok": True})


def _raw_wsgi(wsgi_app):
    def middleware(environ, start_response):
        if environ.get("PATH_INFO") == RAW_PATH:
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(RAW_BODY)))])
            return [RAW_BODY]
        return wsgi_app(environ, start_response)
    return middleware


def create():
    app = create_app()
    members = _Members()
    plain = FlaskBlueprint("bench_layers", __name__, url_prefix=PREFIX)
    blp = edge.Blueprint("bench_layers_smorest", __name__, url_prefix=PREFIX, description="bench only")

    @plain.post("/bare_post")
    def bare_post():
        return _ok()

    @plain.post("/edge")
    def edge_checks():
        edge.check_request_text()
        edge.load_json_body(request.get_data(cache=True))
        return _ok()

    @plain.get("/token")
    def token():
        common._bearer_claims()
        return _ok()

    @plain.get("/token_revocation")
    @member_required
    def token_revocation():
        return _ok()

    @plain.get("/rate_limit")
    def rate_limit():
        ratelimit.check("bench-layer", str(members.next()), limit=RATE_LIMIT, window=60)
        return _ok()

    def as_principal(view):  # @idempotent goes below an auth decorator: the principal without one
        def wrapper(*args, **kwargs):
            g.principal = "bench:layers"
            return view(*args, **kwargs)
        wrapper.__name__ = view.__name__
        return wrapper

    @plain.post("/idempotency")
    @as_principal
    @idempotent
    def idempotency():
        return {"ok": True}

    plain.add_url_rule("/idempotency_key", "idempotency_key", idempotency, methods=["POST"])

    @blp.route("/smorest_response")
    @blp.response(200, BenchOkSchema)
    def smorest_response():
        return {"ok": True}

    @blp.route("/smorest")
    @blp.arguments(BenchArgsSchema, location="query")
    @blp.response(200, BenchOkSchema)
    def smorest(args):
        return {"ok": True}

    @blp.route("/smorest_json", methods=["POST"])
    @blp.arguments(BenchArgsSchema)
    @blp.response(200, BenchOkSchema)
    def smorest_json(args):
        return {"ok": True}

    @plain.get("/transaction")
    def empty_transaction():
        with transaction():
            pass
        return _ok()

    @plain.get("/orm")
    def orm():
        with transaction():
            db.session.get(Member, members.next())
        return _ok()

    @plain.get("/orm_lock")
    def orm_lock():
        with transaction():
            lock_member(members.next())
        return _ok()

    @plain.get("/orm_write")
    def orm_write():
        member_id = members.next()
        with transaction():
            lock_member(member_id)
            execute_prebuilt(_BUMP, row=member_id)
        return _ok()

    def index_write(member_id):
        key = f"bench:layer:{{m:{member_id}}}"
        redis_index.write_after_commit([("setbit", key, clock.today().day - 1, 1)], repair=("bench_layer", None))

    @plain.get("/redis_index")
    def redis_index_write():
        with transaction():
            index_write(members.next())
        return _ok()

    @blp.route("/all", methods=["POST"])
    @member_required
    @idempotent
    @blp.response(200, BenchOkSchema)
    def stacked():
        member_id = g.card.id
        with transaction():
            lock_member(member_id)
            execute_prebuilt(_BUMP, row=member_id)
            index_write(member_id)
        return {"ok": True}

    app.register_blueprint(plain)
    api = next(iter(app.extensions["flask-smorest"]["blp_name_to_api"].values()))
    api.register_blueprint(blp)
    app.wsgi_app = _raw_wsgi(app.wsgi_app)
    return app
