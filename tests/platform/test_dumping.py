"""The fast response dumps (blueprints/dumping.py) give exactly what marshmallow's dumps give, for
every response schema of every route, on generated answers: as dicts and as objects, with values
missing, None, and of the types a service hands over."""
import random
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from types import SimpleNamespace

import pytest
from marshmallow import Schema, fields

from blueprints import dumping

DEPTH = 4


def _response_schemas(app) -> list[Schema]:
    """The schema of every documented response of every route, as the routes use it (fast already)."""
    found = {}
    for view in app.view_functions.values():
        for cls in [getattr(view, "view_class", None)]:
            targets = [getattr(cls, method, None) for method in ("get", "post", "put", "patch", "delete")] if cls else [view]
            for target in filter(None, targets):
                for docs in getattr(target, "_apidoc", {}).get("response", {}).get("responses", {}).values():
                    for doc in docs:
                        if isinstance(doc.get("schema"), Schema):
                            found[id(doc["schema"])] = doc["schema"]
    return list(found.values())


def _value(field, rng, depth):
    if rng.random() < 0.15 and not isinstance(field, fields.Nested):
        return None
    if isinstance(field, fields.Nested):
        if depth >= DEPTH or rng.random() < 0.1:
            return None
        many = field.many or field.schema.many
        return [_answer(field.schema, rng, depth + 1) for _ in range(rng.randint(0, 3))] if many else \
            _answer(field.schema, rng, depth + 1)
    if isinstance(field, fields.List):
        return [_value(field.inner, rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if isinstance(field, fields.Boolean):
        return rng.choice([True, False, 1, 0, "true", "no"])
    if isinstance(field, fields.Integer):
        return rng.choice([0, -3, 2**31 - 1, 17, True, Decimal(5)])
    if isinstance(field, (fields.Float, fields.Decimal, fields.Number)):
        return rng.choice([0, 1.5, -2.25, 10])
    if isinstance(field, fields.DateTime):
        return datetime(2026, 12, 4, 9, 30, tzinfo=timezone(timedelta(hours=8))) + timedelta(minutes=rng.randint(0, 9999))
    if isinstance(field, fields.Date):
        return date(2026, 1, 1) + timedelta(days=rng.randint(0, 700))
    if isinstance(field, fields.Dict):
        return {"a": rng.randint(0, 9), "b": [1, "x"]}
    if isinstance(field, fields.String):
        return rng.choice(["", "张三", "a" * 40, "line\nbreak", b"bytes"])
    return rng.choice([1, "x", [1, 2], {"k": "v"}])


def _answer(schema, rng, depth=0, as_object=False):
    data = {}
    for name, field in schema.dump_fields.items():
        if rng.random() < 0.1 and not hasattr(dict, field.attribute or name):
            continue  # missing: left out of the answer (a dict's "items" would be its method, to both)
        data[field.attribute or name] = _value(field, rng, depth)
    return SimpleNamespace(**data) if as_object else data


def _marshmallow(schema: Schema) -> Schema:
    """The same schema as marshmallow dumps it (a fresh instance with the same options)."""
    return type(schema)(only=schema.only, exclude=schema.exclude, many=schema.many)


def test_every_response_schema_dumps_as_marshmallow_does(app):
    schemas = _response_schemas(app)
    assert len(schemas) > 100  # every area's answers, not a few
    rng = random.Random(20261204)
    planned = 0
    for schema in schemas:
        reference = _marshmallow(schema)
        planned += "dump" in vars(schema)
        for n in range(20):
            answer = _answer(reference, rng, as_object=n % 2 == 1)
            _same(schema, reference, answer, many=False)
            _same(schema, reference, [answer, _answer(reference, rng)], many=True)
    assert planned > 100


def _same(fast, reference, answer, *, many):
    """The same dump, or the same error (a Method field reading what generated data lacks)."""
    try:
        expected = reference.dump(answer, many=many)
    except Exception as exc:
        with pytest.raises(type(exc)):
            fast.dump(answer, many=many)
        return
    assert fast.dump(answer, many=many) == expected, type(reference).__name__


@pytest.mark.parametrize("endpoint, method", [("me.Me", "get"), ("signin.SignIn", "post"), ("mall.GoodsList", "get")])
def test_the_hot_answers_are_planned(app, endpoint, method):
    view = getattr(app.view_functions[endpoint].view_class, method)
    (doc,) = view._apidoc["response"]["responses"][200]
    assert "dump" in vars(doc["schema"])


def test_a_schema_with_dump_hooks_keeps_marshmallows_dump():
    from marshmallow import post_dump

    class Hooked(Schema):
        name = fields.String()

        @post_dump
        def shout(self, data, **_):
            return {k: v.upper() for k, v in data.items()}

    schema = dumping.fast(Hooked())
    assert "dump" not in vars(schema)
    assert schema.dump({"name": "a"}) == {"name": "A"}


@pytest.mark.parametrize("value", [None, 0, 1, "true", "0", [], [1], object()])
def test_booleans_convert_as_marshmallow_does(value):
    class One(Schema):
        flag = fields.Boolean()
    assert dumping.fast(One()).dump({"flag": value}) == One().dump({"flag": value})
