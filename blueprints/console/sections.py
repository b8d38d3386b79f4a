"""What the configuration pages share: a page is a title and sections, each a list (the table macro), a
fact line, an image, and a form drawn from an API schema (shown to admins only). One template,
config.html, shows them all; each page module builds its sections and calls the API's services."""
from dataclasses import dataclass, field

from marshmallow import missing

from blueprints.console.forms import Form, form_for


@dataclass
class Section:
    title: str
    rows: list | None = None  # a table of these rows (objects or dicts) …
    columns: tuple = ()  # … with these columns
    link: tuple | None = None  # (endpoint, id argument): the first column links to the row's page
    next_cursor: str | None = None
    facts: list = field(default_factory=list)  # (label, value) lines above the table
    note: str = ""  # a line of explanation (translated)
    image: str | None = None  # an image's URL (a guide's QR)
    form: Form | None = None  # shown to admins
    action: str = ""
    submit: str = "Create"


def page(title: str, *sections: Section, subtitle: str = "", back: str | None = None) -> dict:
    """The context of config.html."""
    return {"title": title, "subtitle": subtitle, "sections": [s for s in sections if s is not None], "back": back}


def new_form(schema, values: dict | None = None) -> Form:
    """A create form showing the schema's defaults (a box the API ticks by default is ticked), then `values`."""
    defaults = {name: f.load_default for name, f in schema.fields.items()
                if f.load_default is not missing and not callable(f.load_default)}
    return form_for(schema, {**defaults, **(values or {})})


def values_of(row, schema) -> dict:
    """A row's current values of the schema's fields, to fill an edit form."""
    return {name: getattr(row, name, "") for name in schema.fields}


def edit_form(schema, row, failed: Form | None = None) -> Form:
    return failed or form_for(schema, values_of(row, schema))


def button(failed: Form | None = None) -> Form:
    """An action without fields (delete, deactivate): a form that is just its button."""
    return failed or Form([])
