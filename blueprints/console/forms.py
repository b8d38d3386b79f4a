"""Console forms drawn from the operator API's own marshmallow schemas and checked by them and by the same
service call: one set of rules, the API's messages shown beside the field they concern.

A field's input follows its schema field: a choice (OneOf) a select, a Boolean a checkbox, an Integer a
number, a list, object or nested schema a JSON text area, anything else a text input."""
import json
from dataclasses import dataclass, field

from flask import request
from marshmallow import Schema, ValidationError, fields, validate

from blueprints.console.i18n import translate
from blueprints.edge import MalformedText, check_text, load_json_body
from models import db
from services.platform.errors import InvalidRequest, ServiceError

STRUCTURED = (fields.List, fields.Nested, fields.Dict, fields.Tuple)


@dataclass
class Input:
    name: str
    kind: str  # text, textarea, number, checkbox, select, json, datetime (ISO 8601 with its zone)
    required: bool
    value: object = ""
    choices: tuple = ()
    errors: list = field(default_factory=list)
    help: str = ""


@dataclass
class Form:
    inputs: list[Input]
    errors: list = field(default_factory=list)  # the whole form's, not a field's
    ok: bool = False  # submitted, and the service took it

    def __getitem__(self, name: str) -> Input:
        return next(item for item in self.inputs if item.name == name)


def form_for(schema: Schema, values: dict | None = None, only: tuple | None = None) -> Form:
    """A form of the schema's loadable fields (in `only`'s order when given), filled with `values`."""
    values = values or {}
    names = only or tuple(name for name, f in schema.fields.items() if not f.dump_only)
    return Form([_input(name, schema.fields[name], values.get(name, "")) for name in names])


def submit(schema: Schema, action, *, only: tuple | None = None, partial: bool = False):
    """(result, form): the posted form loaded with the schema and handed to `action(args)`; on a validation
    error or a service's refusal the result is None and the form, filled with what was sent, says why."""
    form = form_for(schema, request.form, only)
    try:
        loaded = schema.load(_posted(form, partial), partial=partial)
        result = action(loaded)
        form.ok = True
        return result, form
    except ValidationError as error:
        _place(form, error.messages)
    except ServiceError as error:
        db.session.rollback()
        form.errors.append(error.message)
        _place(form, error.details or {}, whole=False)
    return None, form


def _input(name: str, schema_field: fields.Field, value) -> Input:
    choices = next((tuple(v.choices) for v in schema_field.validators if isinstance(v, validate.OneOf)), ())
    help_text = (schema_field.metadata or {}).get("description", "")
    shown = _shown(value)
    if choices:
        return Input(name, "select", schema_field.required, shown, choices, help=help_text)
    if isinstance(schema_field, fields.Boolean):
        return Input(name, "checkbox", False, value in (True, "on", "true", "1"), help=help_text)
    if isinstance(schema_field, STRUCTURED):
        return Input(name, "json", schema_field.required, shown, help=help_text)
    if isinstance(schema_field, fields.Integer):
        return Input(name, "number", schema_field.required, shown, help=help_text)
    if isinstance(schema_field, fields.DateTime):
        return Input(name, "datetime", schema_field.required, shown, help=help_text)
    long_text = any(isinstance(v, validate.Length) and (v.max or 0) > 255 for v in schema_field.validators)
    return Input(name, "textarea" if long_text else "text", schema_field.required, shown, help=help_text)


def _shown(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, indent=1)
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _posted(form: Form, partial: bool) -> dict:
    """The form's text as the JSON body the API would receive: numbers as numbers, JSON parsed, an empty
    input left out (the schema's default, or its 'missing' message when required)."""
    data, broken = {}, {}
    for item in form.inputs:
        if item.kind == "checkbox":
            if not partial or item.name in request.form:
                data[item.name] = item.value
            continue
        text = request.form.get(item.name, "")
        if text.strip() == "":
            continue
        try:
            check_text(text, item.name)
            data[item.name] = _typed(item, text)
        except (MalformedText, InvalidRequest):
            broken[item.name] = [translate("Not valid JSON.") if item.kind == "json" else "Not valid text."]
    if broken:
        raise ValidationError(broken)
    return data


def _typed(item: Input, text: str):
    if item.kind == "json":
        return load_json_body(text.encode())
    if item.kind == "number":
        try:
            return int(text)
        except ValueError:
            return text  # the schema says "Not a valid integer."
    return text


def _place(form: Form, messages, whole: bool = True) -> None:
    names = {item.name for item in form.inputs}
    for name, found in (messages.items() if isinstance(messages, dict) else [("_schema", messages)]):
        text = _flattened(found)
        if name in names:
            form[name].errors.extend(text)
        elif whole:
            form.errors.extend(text)
    if whole and not form.errors and any(item.errors for item in form.inputs):
        form.errors.append(translate("Please fix the fields marked below."))


def _flattened(found) -> list[str]:
    """Messages of a nested field (a list of prizes, say) as lines like `0.weight: Must be…`."""
    if isinstance(found, str):
        return [found]
    if isinstance(found, list):
        return [line for item in found for line in _flattened(item)]
    if isinstance(found, dict):
        return [f"{key}: {line}" for key, value in found.items() for line in _flattened(value)]
    return [str(found)]
