"""WeChat Pay v2 signatures, refund-notify encryption and identifier helpers.

Written from WeChat Pay's specification, independently of wechatpy.
"""
import base64
import hashlib
import hmac
import secrets
import string

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

SIGN_TYPES = ("MD5", "HMAC-SHA256")
_ALNUM = string.ascii_letters + string.digits


def _sign_string(params, key):
    pairs = [
        f"{k}={params[k]}"
        for k in sorted(params)
        if k != "sign" and params[k] is not None and str(params[k]) != ""
    ]
    pairs.append(f"key={key}")
    return "&".join(pairs).encode("utf-8")


def sign(params, key, sign_type="MD5"):
    """WeChat Pay v2 signature (uppercase hex) of ``params`` with the API key."""
    data = _sign_string(params, key)
    if sign_type == "MD5":
        return hashlib.md5(data).hexdigest().upper()
    if sign_type == "HMAC-SHA256":
        return hmac.new(key.encode("utf-8"), data, hashlib.sha256).hexdigest().upper()
    raise ValueError(f"unsupported sign_type {sign_type!r}")


def verify(params, key, sign_type="MD5"):
    given = params.get("sign") or ""
    return hmac.compare_digest(given, sign(params, key, sign_type))


def _refund_cipher(pay_key):
    aes_key = hashlib.md5(pay_key.encode("utf-8")).hexdigest().lower().encode("ascii")
    return Cipher(algorithms.AES(aes_key), modes.ECB())


def encrypt_req_info(plain_xml, pay_key):
    """base64(AES-256-ECB(PKCS7(xml))) with key = md5(pay_key) lowercase hex."""
    padder = padding.PKCS7(128).padder()
    data = padder.update(plain_xml.encode("utf-8")) + padder.finalize()
    enc = _refund_cipher(pay_key).encryptor()
    return base64.b64encode(enc.update(data) + enc.finalize()).decode("ascii")


def decrypt_req_info(req_info, pay_key):
    dec = _refund_cipher(pay_key).decryptor()
    data = dec.update(base64.b64decode(req_info)) + dec.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return (unpadder.update(data) + unpadder.finalize()).decode("utf-8")


def nonce(length=32):
    return "".join(secrets.choice(_ALNUM) for _ in range(length))


def derived_id(prefix, *parts, length=27):
    """Deterministic url-safe identifier, e.g. openids: 'o' + 27 chars."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()
    return prefix + base64.urlsafe_b64encode(digest).decode("ascii")[:length]
