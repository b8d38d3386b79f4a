"""Content rules: subscribe-message values, wxacode scenes, and the PNG it returns."""
import hashlib
import re
import struct
import zlib

# keyword type -> predicate on the value (WeChat's subscribe-message value limits)
_AMOUNT = re.compile(r"^\d+(\.\d{1,2})?元?$")
_NUMBER = re.compile(r"^\d+(\.\d+)?$")
_RULES = {
    "thing": lambda v: 0 < len(v) <= 20,
    "number": lambda v: len(v) <= 32 and bool(_NUMBER.match(v)),
    "letter": lambda v: 0 < len(v) <= 32 and v.isascii() and v.isalpha(),
    "symbol": lambda v: 0 < len(v) <= 5,
    "character_string": lambda v: 0 < len(v) <= 32 and v.isascii(),
    "time": lambda v: bool(v.strip()),
    "date": lambda v: bool(v.strip()),
    "amount": lambda v: bool(_AMOUNT.match(v)),
    "phone_number": lambda v: 0 < len(v) <= 17,
    "car_number": lambda v: 0 < len(v) <= 8,
    "name": lambda v: 0 < len(v) <= 10,
    "phrase": lambda v: 0 < len(v) <= 5,
}
_KEY = re.compile(r"^([a-z_]+?)(\d+)$")
SCENE = re.compile(r"^[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]{1,32}$")


def invalid_data_key(data):
    """The first key of subscribe ``data`` whose value breaks its rule, else None."""
    for key, item in data.items():
        value = item.get("value") if isinstance(item, dict) else None
        if not isinstance(value, str):
            return key
        match = _KEY.match(key)
        rule = _RULES.get(match.group(1)) if match else None
        if not (rule or (lambda v: bool(v)))(value):
            return key
    return None


def valid_scene(scene):
    return isinstance(scene, str) and bool(SCENE.match(scene))


def _chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def wxacode_png(scene, width=430, modules=21):
    """A grayscale PNG whose pattern is derived from ``scene`` (not a real wxacode)."""
    width = int(width) if str(width).isdigit() else 430
    width = max(modules, min(width, 1280))
    cell = max(1, width // modules)
    size = cell * modules
    bits = "".join(f"{b:08b}" for b in hashlib.sha256(scene.encode("utf-8")).digest() * 2)
    rows = bytearray()
    for y in range(size):
        row = bytes(0 if bits[(y // cell) * modules + x // cell] == "1" else 255
                    for x in range(size))
        rows += b"\x00" + row
    header = struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(bytes(rows), 9)) + _chunk(b"IEND", b""))
