"""WeChat Pay XML: flat <xml> documents with CDATA strings."""
import re
import xml.etree.ElementTree as ET

_FORBIDDEN = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class XMLFormatError(ValueError):
    pass


def parse_xml(raw, root="xml"):
    """Parse a flat WeChat XML document into a dict of strings.

    DOCTYPE and entity declarations are refused (XXE / billion laughs).
    """
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    if not raw or _FORBIDDEN.search(raw):
        raise XMLFormatError("XML格式错误")
    try:
        doc = ET.fromstring(raw)
    except ET.ParseError as exc:
        raise XMLFormatError("XML格式错误") from exc
    if doc.tag != root:
        raise XMLFormatError("XML格式错误")
    return {child.tag: (child.text or "") for child in doc}


def _cdata(value):
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def to_xml(data, root="xml"):
    """Serialise a flat dict: ints bare, everything else as CDATA; None skipped."""
    parts = [f"<{root}>"]
    for key, value in data.items():
        if value is None:
            continue
        text = str(value) if isinstance(value, int) else _cdata(str(value))
        parts.append(f"<{key}>{text}</{key}>")
    parts.append(f"</{root}>")
    return "".join(parts)
