"""The console's two languages: English text is the key, Chinese (the default) its translation. Each page
module adds the words it uses with `words({...})`; a word without a translation shows in English."""
from flask import g, request, session

LANGUAGES = ("zh", "en")
DEFAULT = "zh"
_ZH: dict[str, str] = {}


def words(translations: dict[str, str]) -> None:
    """Chinese for English texts of the console."""
    _ZH.update(translations)


def choose_language() -> None:
    """`?lang=en|zh` switches and is remembered in the session; otherwise the remembered one, else Chinese."""
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        session["lang"] = asked
    g.lang = session.get("lang", DEFAULT) if session.get("lang") in LANGUAGES else DEFAULT


def translate(text: str, **values) -> str:
    translated = _ZH.get(text, text) if g.get("lang", DEFAULT) == "zh" else text
    return translated.format(**values) if values else translated


words({
    "Operator console": "运营后台", "Sign in": "登录", "Sign out": "退出登录", "Username": "用户名",
    "Password": "密码", "Wrong account or password.": "账号或密码错误。", "Dashboard": "数据看板",
    "Configuration": "配置", "Members": "会员", "Orders": "订单", "Audit log": "操作日志",
    "Save": "保存", "Create": "创建", "Cancel": "取消", "Search": "搜索", "Saved.": "已保存。",
    "viewer": "只读", "admin": "管理员", "Not allowed": "无权操作", "Refused": "已拒绝",
    "This operator may only read.": "该账号只能查看，不能修改。",
    "The form expired or was not sent from the console; reload the page and try again.":
        "表单已过期或并非来自后台页面，请刷新后重试。",
    "Not found": "未找到", "Something went wrong": "出错了", "Back": "返回", "Language": "语言",
    "Please fix the fields marked below.": "请修正下面标出的字段。", "Not valid JSON.": "不是有效的 JSON。",
    "Too many failed sign-ins; try again later.": "登录失败次数过多，请稍后再试。",
    "signin": "签到", "signin_makeup": "补签", "task": "任务", "purchase": "消费", "store_purchase": "门店消费",
    "lottery": "抽奖", "lottery_prize": "抽奖奖品", "mall": "商城兑换", "mall_refund": "商城退款",
    "admin_adjust": "人工调整", "expired": "过期", "refund": "退款", "levelup": "升级礼", "birthday": "生日礼",
    "invite_friend": "受邀好友礼", "invite_inviter": "邀请奖励", "invite_refund": "邀请奖励收回",
    "No data": "暂无数据", "Actions": "操作", "Previous": "上一页", "Next": "下一页",
})
