"""Response schemas dumped fast: each schema's fields read once into a plan, so that a dump is a loop
over (key, getter, conversion) instead of marshmallow's general machinery per field and per object.

The schema stays the one definition of the answer (and of the OpenAPI document): `fast(schema)`
returns the same schema instance with a `dump` that gives what marshmallow's would. Strings, integers
and the values marshmallow passes through (booleans, raw) are converted inline; nested schemas and
lists of them get plans of their own; every other field is handed to its own `_serialize`. A schema
with dump hooks keeps marshmallow's dump. tests/platform/test_dumping.py holds the two equal on every
response schema.
"""
from marshmallow import Schema, fields, missing
from marshmallow.schema import POST_DUMP, PRE_DUMP
from marshmallow.utils import _get_value_for_key, ensure_text_type, get_value


def fast(schema: Schema) -> Schema:
    """`schema` with its dump replaced by its plan's (unless it has dump hooks or its own way of
    reading attributes)."""
    if _plannable(schema):
        plan = _plan(schema)
        default_many = schema.many

        def dump(obj, *, many: bool | None = None):
            if default_many if many is None else many:
                return [plan(item) for item in obj]
            return plan(obj)
        schema.dump = dump
    return schema


def _plannable(schema: Schema) -> bool:
    return (not (schema._hooks[PRE_DUMP] or schema._hooks[POST_DUMP]) and "dump" not in vars(schema)
            and type(schema).get_attribute is Schema.get_attribute)


# how a value read off the object is converted: as it is, to text, to an integer, or by a function
AS_IS, TEXT, INTEGER, CALL = range(4)


def _plan(schema: Schema):
    steps = []
    for name, field in schema.dump_fields.items():
        head, *tail = (field.attribute or name).split(".")
        steps.append((field.data_key if field.data_key is not None else name, name, head, tuple(tail), field,
                      *_conversion(field)))

    def plan(obj):
        out, heads = {}, {}
        for key, name, head, tail, field, kind, convert in steps:
            if convert is None and kind == CALL:  # a field that reads the object its own way
                value = field.serialize(name, obj, accessor=get_value)
                if value is not missing:
                    out[key] = value
                continue
            value = heads[head] if head in heads else heads.setdefault(head, _value_for_key(obj, head))
            for part in tail:
                value = _value_for_key(value, part)
            if value is missing:
                default = field.dump_default
                value = default() if callable(default) else default
                if value is missing:
                    continue
            if value is None or kind == AS_IS:
                out[key] = value
            elif kind == TEXT:
                out[key] = value if type(value) is str else ensure_text_type(value)
            elif kind == INTEGER:
                out[key] = value if type(value) is int else int(value)
            else:
                out[key] = convert(value, name, obj)
        return out
    return plan


def _value_for_key(obj, key: str):
    """marshmallow.utils._get_value_for_key (obj[key], else the attribute), without raising and
    catching an exception for the objects services hand over (dicts, rows, models)."""
    kind = type(obj)
    if kind is dict:
        value = obj.get(key, missing)
        return getattr(obj, key, missing) if value is missing else value
    if not hasattr(kind, "__getitem__") or (issubclass(kind, tuple) and hasattr(kind, "_fields")):
        return getattr(obj, key, missing)  # a named tuple's [str] is a TypeError: marshmallow reads the attribute
    return _get_value_for_key(obj, key, missing)


def _conversion(field) -> tuple[int, object]:
    """How a value read off the object becomes the field's output: (AS_IS / TEXT / INTEGER, None), or
    (CALL, a function of value, name, object; None: the field reads the object itself)."""
    kind = type(field)
    if not field._CHECK_ATTRIBUTE or type(field).get_value is not fields.Field.get_value:
        return CALL, None
    if kind is fields.String:
        return TEXT, None
    if kind is fields.Integer and not field.as_string:
        return INTEGER, None
    if kind._serialize is fields.Field._serialize:  # Boolean, Raw…: the value as it is
        return AS_IS, None
    if kind is fields.Nested and _plannable(field.schema):
        nested, many = _plan(field.schema), field.schema.many or field.many
        return CALL, lambda value, _name, _obj: None if value is None else (
            [nested(item) for item in value] if many else nested(value))
    if kind is fields.List and type(field.inner) is fields.Nested and _plannable(field.inner.schema):
        _, inner = _conversion(field.inner)
        return CALL, lambda value, name, obj: [inner(item, name, obj) for item in value]
    return CALL, lambda value, name, obj: field._serialize(value, name, obj)
