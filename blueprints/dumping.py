"""Response schemas dumped fast: each schema's fields read once into a plan, so that a dump is a loop
over (key, getter, conversion) instead of marshmallow's general machinery per field and per object.

The schema stays the one definition of the answer (and of the OpenAPI document): `fast(schema)`
returns the same schema instance with a `dump` that gives what marshmallow's would. Strings, integers
and the values marshmallow passes through (booleans, raw) are converted inline; nested schemas and
lists of them get plans of their own; every other field is handed to its own `_serialize`. A schema with dump hooks
keeps marshmallow's dump. tests/platform/test_dumping.py holds the two equal on every response schema.
"""
from marshmallow import Schema, fields, missing
from marshmallow.schema import POST_DUMP, PRE_DUMP
from marshmallow.utils import ensure_text_type, get_value

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


def _plan(schema: Schema):
    steps = [(field.data_key if field.data_key is not None else name, name, field.attribute or name, field,
              _conversion(field)) for name, field in schema.dump_fields.items()]

    def plan(obj):
        out = {}
        is_dict = type(obj) is dict
        for key, name, source, field, convert in steps:
            if convert is None:  # a field that reads the object its own way
                value = field.serialize(name, obj, accessor=get_value)
            else:
                value = obj.get(source, missing) if is_dict and "." not in source else missing
                if value is missing:
                    value = get_value(obj, source, missing)
                if value is missing:
                    default = field.dump_default
                    value = default() if callable(default) else default
                    if value is missing:
                        continue
                value = convert(value, name, obj)
            if value is not missing:
                out[key] = value
        return out
    return plan


def _conversion(field):
    """How a value read off the object becomes the field's output; None: the field reads it itself."""
    kind = type(field)
    if not field._CHECK_ATTRIBUTE or type(field).get_value is not fields.Field.get_value:
        return None
    if kind is fields.String:
        return lambda value, _name, _obj: None if value is None else (
            value if type(value) is str else ensure_text_type(value))
    if kind is fields.Integer and not field.as_string:
        return lambda value, _name, _obj: None if value is None else int(value)
    if kind._serialize is fields.Field._serialize:  # Boolean, Raw…: the value as it is
        return lambda value, _name, _obj: value
    if kind is fields.Nested and _plannable(field.schema):
        nested, many = _plan(field.schema), field.schema.many or field.many
        return lambda value, _name, _obj: None if value is None else (
            [nested(item) for item in value] if many else nested(value))
    if kind is fields.List and type(field.inner) is fields.Nested and (inner := _conversion(field.inner)):
        return lambda value, name, obj: None if value is None else [inner(item, name, obj) for item in value]
    return lambda value, name, obj: field._serialize(value, name, obj)
