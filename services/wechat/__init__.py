"""The adapters over wechatpy: every WeChat call and callback goes through them. miniprogram.py adapts
the mini-program's API (login and phone codes, subscribe and customer-service messages, mini-program
codes, the message push), wecom.py WeCom (guides' 联系我 codes, external contacts, WeCom's callbacks)
and pay.py WeChat Pay v2 (JSAPI orders, refunds, their notifications, the daily bill); common.py holds
what they share. Base URLs come from config, so the same code talks to WeChat in production and to the
sandbox in tests and the embedded default. Access tokens live in Redis so every process shares one.

Other areas may call: miniprogram.code_to_session / phone_number / send_subscribe_message / wxa_code /
push_signature_ok / parse_push / send_service_text / send_service_image / upload_temporary_image;
wecom.configured / add_contact_way / delete_contact_way / external_contact / parse_event / echo;
pay.create_jsapi_order / query_order / close_order / apply_refund / refund_status / download_bill /
parse_payment_notification / parse_refund_notification / notification_reply; and catch the
InvalidNotification of the module they called (one class: a push, callback or notification refused).
create_app calls init_app.
"""
from services.wechat import miniprogram, pay, wecom
from services.wechat.common import EXTENSION, Clients


def init_app(app) -> None:
    """Build the app's clients from its config, kept under app.extensions["wechat"]. Building touches
    no network and no Redis (a token is read at first use), so create_app may run before a fork; the
    threads of a process share the clients."""
    app.extensions[EXTENSION] = Clients(miniprogram=miniprogram.build_client(app.config),
                                        wecom=wecom.build_client(app.config),
                                        pay=pay.build_client(app.config))
