"""WeChat Pay v2 endpoints (XML in, signed XML out)."""
from flask import Blueprint, Response, request

from . import bill
from .common import fault_response, sandbox
from .crypto import SIGN_TYPES, nonce, sign, verify
from .orders import ResultFail, ReturnFail
from .xmlutil import XMLFormatError, parse_xml, to_xml

bp = Blueprint("wechat_pay", __name__)


def _xml_response(data):
    return Response(to_xml(data), mimetype="text/xml")


def _signed(fields, sign_type, result_code="SUCCESS"):
    config = sandbox().config
    data = {"return_code": "SUCCESS", "return_msg": "OK", "appid": config.appid,
            "mch_id": config.mch_id, "nonce_str": nonce(16), "result_code": result_code}
    data.update({k: v for k, v in fields.items() if v is not None})
    data["sign"] = sign(data, config.pay_key, sign_type)
    return _xml_response(data)


def _authenticate(req):
    """Check appid, mch_id, nonce and signature; return the sign_type used."""
    config = sandbox().config
    sign_type = req.get("sign_type") or "MD5"
    if sign_type not in SIGN_TYPES:
        raise ReturnFail("sign_type参数错误")
    if req.get("appid") != config.appid:
        raise ReturnFail("appid不存在")
    if req.get("mch_id") != config.mch_id:
        raise ReturnFail("商户号mch_id与appid不匹配")
    if not req.get("nonce_str"):
        raise ReturnFail("缺少参数nonce_str")
    if not verify(req, config.pay_key, sign_type):
        raise ReturnFail("签名错误")
    return sign_type


def _fault_body(fault, sign_type):
    if fault.get("return_msg"):
        return _xml_response({"return_code": "FAIL", "return_msg": fault["return_msg"]})
    return _signed({"err_code": str(fault.get("errcode") or "SYSTEMERROR"),
                    "err_code_des": fault.get("errmsg") or "sandbox injected error"},
                   sign_type, "FAIL")


def _handle(name, handler):
    state = sandbox()
    state.store.count("calls." + name)
    sign_type = "MD5"
    try:
        req = parse_xml(request.get_data())
        sign_type = _authenticate(req)
        fault = state.store.take_fault(name)
        if fault:
            return fault_response(fault, lambda f: _fault_body(f, sign_type))
        return _signed(handler(req, sign_type), sign_type)
    except (XMLFormatError, ReturnFail) as err:
        return _xml_response({"return_code": "FAIL", "return_msg": str(err)})
    except ResultFail as err:
        return _signed({"err_code": err.err_code, "err_code_des": err.err_code_des},
                       sign_type, "FAIL")


@bp.post("/pay/unifiedorder")
def unifiedorder():
    return _handle("unifiedorder", lambda req, st: sandbox().orders.unifiedorder(req, st))


@bp.post("/pay/orderquery")
def orderquery():
    return _handle("orderquery", lambda req, st: sandbox().orders.query(req))


@bp.post("/pay/closeorder")
def closeorder():
    return _handle("closeorder", lambda req, st: sandbox().orders.close(req))


@bp.post("/secapi/pay/refund")
def refund():
    return _handle("refund", lambda req, st: sandbox().refunds.apply(req))


@bp.post("/pay/refundquery")
def refundquery():
    return _handle("refundquery", lambda req, st: sandbox().refunds.query(req))


@bp.post("/pay/downloadbill")
def downloadbill():
    # answers a text bill, or unsigned XML with error_code: not _handle's signed XML
    state = sandbox()
    state.store.count("calls.downloadbill")
    try:
        req = bill.read_request(request.get_data(), state.config)
        fault = state.store.take_fault("downloadbill")
        if fault:
            return fault_response(fault, lambda f: _xml_response(bill.fault_answer(f)))
        return bill.download(state, req)
    except bill.BillFail as err:
        return _xml_response(err.answer())
