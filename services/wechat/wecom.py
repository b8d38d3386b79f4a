"""WeCom (企业微信): guides' 联系我 codes, their external contacts, and WeCom's encrypted callbacks."""
from flask import current_app
from wechatpy.enterprise import WeChatClient as WeComClient
from wechatpy.enterprise.crypto import WeChatCrypto as WeComCrypto

from services.platform.errors import WeChatError
from services.wechat.common import InvalidNotification, TokenStorage, call, clients, xml_fields

# WeCom has no such contact way (deleted already): 41044 无效的「联系我」config_id参数, or 40058 不合法的参数
# (config_id is del_contact_way's only parameter)
UNKNOWN_CONFIG_ID = (41044, 40058)


class _WeComClient(WeComClient):
    def fetch_access_token(self):
        # wechatpy hard-codes qyapi.weixin.qq.com for the token
        return self._fetch_access_token(url=f"{self.API_BASE_URL}gettoken",
                                        params={"corpid": self.corp_id, "corpsecret": self.secret})


def build_client(config) -> _WeComClient:
    client = _WeComClient(config["WECOM_CORP_ID"], config["WECOM_SECRET"], session=TokenStorage("wecom"),
                          timeout=config["WECHAT_TIMEOUT"])
    client.API_BASE_URL = config["WECOM_API_BASE_URL"]
    return client


def _client() -> _WeComClient:
    return clients().wecom


def configured() -> bool:
    cfg = current_app.config
    return bool(cfg.get("WECOM_CORP_ID") and cfg.get("WECOM_SECRET"))


def add_contact_way(userid: str, state: str) -> tuple[str, str]:
    """A 联系我 QR code for one staff member (type 1, scene 2) carrying `state`; (config_id, qr_code URL)."""
    answer = call(_client().external_contact.add_contact_way, type=1, scene=2, state=state, user=[userid])
    return answer["config_id"], answer["qr_code"]


def delete_contact_way(config_id: str) -> None:
    """Remove a 联系我 code at WeCom (its QR stops adding customers); one already gone counts as removed."""
    try:
        call(_client().external_contact.del_contact_way, config_id)
    except WeChatError as exc:
        if exc.details.get("errcode") not in UNKNOWN_CONFIG_ID:
            raise


def external_contact(external_userid: str) -> dict:
    """WeCom's externalcontact/get: `external_contact` (with `unionid` when the corp and the
    mini-program share an Open Platform account) and `follow_user`."""
    return call(_client().external_contact.get, external_userid)


def _crypto() -> WeComCrypto:
    cfg = current_app.config
    return WeComCrypto(cfg["WECOM_TOKEN"], cfg["WECOM_AES_KEY"], cfg["WECOM_CORP_ID"])


def parse_event(body: bytes, *, msg_signature: str, timestamp: str, nonce: str) -> dict:
    """A WeCom callback's decrypted event as a dict of its XML fields; InvalidNotification if its
    signature or encryption is wrong (wechatpy 1.8.18 has no class for change_external_contact)."""
    try:
        return xml_fields(_crypto().decrypt_message(body, msg_signature, timestamp, nonce))
    except Exception as exc:  # InvalidSignatureException, bad base64 / padding / XML
        raise InvalidNotification(f"WeCom callback refused: {type(exc).__name__}") from exc


def echo(*, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
    """WeCom's URL verification: the decrypted echostr, or InvalidNotification."""
    try:
        echoed = _crypto().check_signature(msg_signature, timestamp, nonce, echostr)
    except Exception as exc:
        raise InvalidNotification(f"WeCom verification refused: {type(exc).__name__}") from exc
    return echoed.decode() if isinstance(echoed, bytes) else echoed
