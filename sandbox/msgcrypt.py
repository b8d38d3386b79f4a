"""Message-push encryption shared by WeChat (mini-program 安全模式) and WeCom callbacks.

Written from WeChat's 消息加解密 specification, independently of wechatpy:
AESKey = Base64_Decode(EncodingAESKey + "="), 32 bytes; AES-256-CBC with IV = AESKey[:16];
plaintext = random(16 B) + msg_len (4 B, network order) + msg + receiveid (appid / corp id),
PKCS#7-padded to a multiple of 32 bytes; Encrypt = Base64(ciphertext).
msg_signature = sha1 of the sorted, concatenated [token, timestamp, nonce, encrypt];
plain-mode signature = the same over [token, timestamp, nonce].
"""
import base64
import hashlib
import secrets
import string
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32
_ALNUM = string.ascii_letters + string.digits


class MsgCryptError(ValueError):
    pass


def aes_key(encoding_aes_key):
    if not isinstance(encoding_aes_key, str) or len(encoding_aes_key) != 43:
        raise MsgCryptError("EncodingAESKey must be 43 characters")
    key = base64.b64decode(encoding_aes_key + "=")
    if len(key) != 32:
        raise MsgCryptError("EncodingAESKey must decode to 32 bytes")
    return key


def _cipher(encoding_aes_key):
    key = aes_key(encoding_aes_key)
    return Cipher(algorithms.AES(key), modes.CBC(key[:16]))


def encrypt(message, encoding_aes_key, receive_id):
    """Base64 ``Encrypt`` value of ``message`` (str) for ``receive_id``."""
    body = message.encode("utf-8")
    random16 = "".join(secrets.choice(_ALNUM) for _ in range(16)).encode("ascii")
    data = random16 + struct.pack(">I", len(body)) + body + receive_id.encode("utf-8")
    pad = BLOCK - len(data) % BLOCK
    data += bytes([pad]) * pad
    enc = _cipher(encoding_aes_key).encryptor()
    return base64.b64encode(enc.update(data) + enc.finalize()).decode("ascii")


def decrypt(encrypted, encoding_aes_key, receive_id):
    """The message inside ``encrypted``; MsgCryptError if it is malformed or not for receive_id."""
    try:
        raw = base64.b64decode(encrypted, validate=True)
    except (ValueError, TypeError) as exc:
        raise MsgCryptError("Encrypt is not base64") from exc
    if not raw or len(raw) % 16:
        raise MsgCryptError("Encrypt has a bad length")
    dec = _cipher(encoding_aes_key).decryptor()
    data = dec.update(raw) + dec.finalize()
    pad = data[-1]
    if not 1 <= pad <= BLOCK or data[-pad:] != bytes([pad]) * pad:
        raise MsgCryptError("bad padding")
    data = data[16:-pad]
    (length,) = struct.unpack(">I", data[:4])
    message, rest = data[4:4 + length], data[4 + length:]
    if len(message) != length or rest.decode("utf-8", "replace") != receive_id:
        raise MsgCryptError("receiveid mismatch")
    return message.decode("utf-8")


def signature(token, timestamp, nonce, *extra):
    """sha1 hex of the sorted, concatenated strings (extra: the Encrypt / echostr value)."""
    parts = sorted(str(part) for part in (token, timestamp, nonce, *extra))
    return hashlib.sha1("".join(parts).encode("utf-8")).hexdigest()


def push_nonce():
    """A nonce as WeChat sends them: a decimal number."""
    return str(secrets.randbelow(9 * 10 ** 9) + 10 ** 9)
