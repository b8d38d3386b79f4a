"""JSON text a service hands over already rendered (a cached fragment): the HTTP layer writes it as it is."""
import json


class RawJSON(str):
    """A str that is JSON text already."""


def render(value) -> RawJSON:
    """Render a JSON-ready value the way cached fragments are kept: compact, UTF-8 text as it is."""
    return RawJSON(_ENCODER.encode(value))


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # one for all: dumps() makes one a call
