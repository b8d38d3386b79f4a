"""A list page's query string loaded with the operator API's own arguments schema: the API's rules and
messages, an empty input meaning no filter (text no database takes never gets here: the edge refuses it)."""
from flask import request
from marshmallow import Schema, ValidationError

from blueprints.console.i18n import translate


def load_query(schema: Schema, **fixed) -> tuple[dict, list[str]]:
    """(arguments, messages): the schema's fields taken from the query string (`fixed` ones set by the
    page); with any message the arguments are empty, for the page to show nothing found."""
    sent = {name: request.args[name] for name in schema.fields if name not in fixed and request.args.get(name)}
    try:
        return {**schema.load(sent), **fixed}, []
    except ValidationError as error:
        return {}, [f"{translate(name)}: {message}" for name, found in error.messages.items()
                    for message in (found if isinstance(found, list) else [found])]
