"""Translations: English in the code, 简体中文 in one dictionary keyed by the English text.

``_(text)`` answers in the language of the browser the current page belongs to (kept in
NiceGUI's per-browser storage) and in English everywhere else (CLI, logs, tests).
Domain error templates are keys too, so the UI shows ``error_message(e)`` in the
worker's language with the same ``{placeholders}``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

from rma.core.models import Role
from rma.core.states import VisitState
from rma.errors import DomainError

ENGLISH = "en"
CHINESE = "zh"
# Each language named in itself, so anyone can find their own.
LANGUAGES: dict[str, str] = {ENGLISH: "English", CHINESE: "简体中文"}
LANGUAGE_KEY = "lang"  # in app.storage.user

STATE_LABELS: dict[VisitState, str] = {
    VisitState.RECEIVED: "Received",
    VisitState.AWAITING_BENCH: "Awaiting bench",
    VisitState.IN_REPAIR: "In repair",
    VisitState.AWAITING_PARTS: "Awaiting parts",
    VisitState.PROGRAMMING: "Programming",
    VisitState.AWAITING_TEST: "Awaiting test",
    VisitState.IN_TEST: "In test",
    VisitState.PASSED: "Passed",
    VisitState.REFURBISHED: "Refurbished into stock",
    VisitState.SHIPPED: "Shipped back",
    VisitState.SCRAPPED: "Scrapped",
    VisitState.RETURNED_UNREPAIRED: "Returned unrepaired",
}

ROLE_LABELS: dict[Role, str] = {
    Role.CLERK: "Logistics clerk",
    Role.TECHNICIAN: "Repair technician",
    Role.LEAD: "Repair lead",
    Role.TESTER: "Tester",
    Role.MATERIALS: "Materials clerk",
    Role.SUPERVISOR: "Supervisor",
    Role.ADMIN: "Administrator",
}

# Returns-ledger event codes written by the services; unknown codes are shown as they are.
EVENT_LABELS: dict[str, str] = {
    "opened": "Opened",
    "manual_move": "Moved by hand",
    "to_bench": "Handed to the bench",
    "accessories_checked": "Accessories checked",
    "shipped": "Shipped",
    "left_depot": "Left the depot",
    "repair_started": "Repair started",
    "parts_requested": "Parts requested",
    "parts_issued": "Parts issued",
    "programming_started": "Programming started",
    "programming_done": "Programming done",
    "repair_done": "Repair done",
    "test_started": "Test started",
    "test_aborted": "Test aborted",
    "test_failed": "Test failed",
    "test_passed": "Test passed",
    "refurbished_into_stock": "Refurbished into stock",
    "scrapped": "Scrapped",
    "returned_unrepaired": "Returned unrepaired",
}

# Keys of a ledger entry's details; unknown keys are shown as they are.
DETAIL_LABELS: dict[str, str] = {
    "reason": "Reason",
}

ZH: dict[str, str] = {
    # --- ledger events
    "Handed to the bench": "转入待修",
    "Accessories checked": "已核对配件",
    "Shipped": "已寄出",
    "Left the depot": "已出库寄出",
    "Repair started": "开始维修",
    "Parts requested": "申领配件",
    "Parts issued": "配件已发放",
    "Programming started": "开始烧录",
    "Programming done": "烧录完成",
    "Repair done": "维修完成",
    "Test started": "开始测试",
    "Test aborted": "测试中止",
    "Test failed": "测试不合格",
    "Test passed": "测试合格",
    # --- visit states
    "Received": "已接收",
    "Awaiting bench": "待维修",
    "In repair": "维修中",
    "Awaiting parts": "待料",
    "Programming": "烧录中",
    "Awaiting test": "待测试",
    "In test": "测试中",
    "Passed": "测试通过",
    "Refurbished into stock": "翻新入库",
    "Shipped back": "已寄回",
    "Scrapped": "已报废",
    "Returned unrepaired": "未修退回",
    # --- roles
    "Logistics clerk": "物流员",
    "Repair technician": "维修员",
    "Repair lead": "维修组长",
    "Tester": "测试员",
    "Materials clerk": "物料员",
    "Supervisor": "主管",
    "Administrator": "系统管理员",
    # --- ledger events
    "Opened": "建档",
    "Moved by hand": "手动转移状态",
    "Reason": "原因",
    # --- the frame: header, navigation, login, sessions
    "Home": "首页",
    "Intake": "物流",
    "Bench": "维修",
    "Test station": "测试站",
    "Stores": "仓库",
    "Dashboard": "看板",
    "Admin": "管理",
    "Scan tag or serial": "扫描标签或序列号",
    "Log in": "登录",
    "Log out": "退出",
    "User name": "用户名",
    "Password": "密码",
    "Returns repair department": "售后返厂维修部",
    "Your session has expired; please log in again.": "会话已超时，请重新登录。",
    "Your session has ended; please log in again.": "会话已失效，请重新登录。",
    "You do not have access to this page.": "您无权访问此页面。",
    # --- home
    "Welcome, {name}": "欢迎，{name}",
    "Your areas": "我的工作区",
    "Visits by state": "各状态维修单数",
    "Recent ledger events": "台账最新记录",
    "When": "时间",
    "Tag": "标签号",
    "Who": "操作人",
    "Event": "事件",
    "State": "状态",
    "Details": "详情",
    "No events yet.": "暂无记录。",
    # --- the unit page
    "Unit": "机器",
    "Serial": "序列号",
    "Open visit": "当前维修单",
    "none": "无",
    "Manufactured": "生产日期",
    "Sold / shipped": "销售/发货日期",
    "Visits": "维修单",
    "Opened at": "建档时间",
    "Closed at": "结案时间",
    "Customer": "客户",
    "Return reason": "退回原因",
    "No visits yet.": "暂无维修单。",
    "Ledger timeline": "台账记录",
    "Check the label and scan again.": "请核对标签后重新扫描。",
    # --- areas not built yet
    "The intake station is not built yet.": "物流收货工位尚未开发。",
    "The repair bench is not built yet.": "维修工位尚未开发。",
    "The test station is not built yet.": "测试站尚未开发。",
    "The stores are not built yet.": "仓库功能尚未开发。",
    "The dashboard is not built yet.": "看板尚未开发。",
    # --- admin
    "Users": "用户",
    "Add a user": "添加用户",
    "Add user": "添加",
    "Display name": "姓名",
    "Roles": "角色",
    "Status": "状态",
    "Actions": "操作",
    "Active": "已启用",
    "Disabled": "已停用",
    "Enable": "启用",
    "Disable": "停用",
    "Reset password": "重置密码",
    "New password": "新密码",
    "New password for {name}": "为 {name} 设置新密码",
    "Cancel": "取消",
    "Save": "保存",
    "No users yet.": "还没有用户。",
    "A password needs at least {n} characters.": "密码至少需要 {n} 个字符。",
    "User {name} added.": "已添加用户 {name}。",
    "User {name} enabled.": "已启用用户 {name}。",
    "User {name} disabled.": "已停用用户 {name}。",
    "Password of {name} reset.": "{name} 的密码已重置。",
    "Roles of {name}": "{name} 的角色",
    "Roles of {name} changed.": "{name} 的角色已更改。",
    # --- what a refused user was trying to do ("{user} may not {action}")
    "add users": "添加用户",
    "reset passwords": "重置密码",
    "enable or disable users": "启用或停用用户",
    "change roles": "更改角色",
    "receive units": "接收机器",
    "move visits by hand": "手动转移维修单状态",
    "add product models": "添加机型",
    "add customers": "添加客户",
    # --- domain errors (templates from the services; placeholders unchanged)
    "Unknown user or wrong password.": "用户名或密码错误。",
    "Too many failed logins. Try again in {seconds} s.": "登录失败次数过多，请 {seconds} 秒后再试。",
    "This account is disabled. Ask an administrator.": "此账号已停用，请联系管理员。",
    "user {user} is disabled": "用户 {user} 已停用",
    "{user} may not {action}: that needs the role {roles}": "{user} 无权{action}：需要角色 {roles}",
    "say who is acting: --as NAME or RMA_USER": "请指明操作人：--as 用户名 或 RMA_USER",
    "no user named {name}": "没有名为 {name} 的用户",
    "a password needs at least {n} characters": "密码至少需要 {n} 个字符",
    "user names are 2-64 characters: a-z, 0-9, dot, dash, underscore; got {name!r}":
        "用户名须为 2-64 个字符，只能用 a-z、0-9、点、短横线、下划线；收到的是 {name!r}",
    "a user needs at least one role": "用户至少需要一个角色",
    "a user named {name} already exists": "名为 {name} 的用户已存在",
    "you cannot disable yourself": "不能停用自己的账号",
    "you cannot take the admin role from yourself": "不能取消自己的管理员角色",
    "unknown role {role!r}; roles are: {known}": "未知角色 {role!r}；可用角色：{known}",
    "no visit with tag {tag}": "没有标签号为 {tag} 的维修单",
    "no unit with serial or tag {key!r}": "没有序列号或标签号为 {key!r} 的机器",
    "unit {serial} already has an open visit {tag} ({state})": "机器 {serial} 已有未结案的维修单 {tag}（{state}）",
    "visit {tag} cannot move from {from_state} to {to_state}": "维修单 {tag} 不能从“{from_state}”转到“{to_state}”",
    "visit {tag} was changed by someone else at the same moment; look at it again and retry":
        "维修单 {tag} 刚被他人同时修改；请重新查看后再试",
    "a manual move needs a reason": "手动转移状态必须填写原因",
    "unknown state {state!r}; known states: {known}": "未知状态 {state!r}；可用状态：{known}",
    "{table} is append-only: entries are never changed or deleted; record a correcting entry instead":
        "{table} 只能追加：记录不能修改或删除；请另登记一条冲正记录",
    "{what} code {code!r}: 1-32 characters A-Z, 0-9, dot, dash, underscore":
        "{what} 代码 {code!r} 无效：须为 1-32 个字符，只能用 A-Z、0-9、点、短横线、下划线",
    "serial pattern {pattern!r} is not a valid regular expression: {reason}":
        "序列号规则 {pattern!r} 不是有效的正则表达式：{reason}",
    "family {family!r}; families are: {known}": "未知产品系列 {family!r}；可选系列：{known}",
    "warranty months must be between 0 and 120": "保修月数必须在 0 到 120 之间",
    "model {code} already exists": "机型 {code} 已存在",
    "a customer needs a name": "客户必须填写名称",
    "customer {code} already exists": "客户 {code} 已存在",
    "no product model {code}": "没有机型 {code}",
    "no customer {code}": "没有客户 {code}",
    "{path} is not valid TOML: {reason}": "{path} 不是有效的 TOML 文件：{reason}",
    "{path}: {reason}": "{path}：{reason}",
    "RMA_DATABASE_URL {url} is not a usable database URL: {reason}":
        "RMA_DATABASE_URL {url} 不是可用的数据库地址：{reason}",
    "cannot reach the database {url}: {reason}": "无法连接数据库 {url}：{reason}",
    "database error at {url}: {reason}": "数据库 {url} 出错：{reason}",
    "the database schema is at {rev}, this rma needs {head}: run `rma db upgrade`":
        "数据库结构版本为 {rev}，本版 rma 需要 {head}：请运行 `rma db upgrade`",
    "the database is at schema revision {rev}, which this rma ({version}) does not know: "
    "it was written by a newer rma. Upgrade rma; nothing was changed.":
        "数据库结构版本 {rev} 不为本版 rma（{version}）所识别：它由更新版本的 rma 写入。"
        "请升级 rma；数据库未做任何改动。",
    "the migration left rows with broken references: {rows}": "迁移后存在引用失效的记录：{rows}",
    "the demo loads only into an empty database; this one already holds data ({users} users)":
        "演示数据只能导入空数据库；此数据库已有数据（{users} 个用户）",
    "give the password on standard input with --password-stdin": "请用 --password-stdin 从标准输入提供密码",
    # --- intake (rma/intake/*)
    "import units": "导入机器",
    "print labels": "打印标签",
    "add reason codes": "添加原因代码",
    "add interception plans": "添加拦截计划",
    "receive parcels": "接收包裹",
    "close parcels": "关闭包裹",
    "attach waybill images": "上传快递单图片",
    "ship units": "寄出机器",
    "record accessories": "登记随机配件",
    "warranty is one of: in, out, unknown": "保修状态只能是：in（保内）、out（保外）、unknown（未知）",
    "{value!r} is not a date (YYYY-MM-DD)": "{value!r} 不是日期（格式 YYYY-MM-DD）",
    "cannot read {path}: {reason}": "无法读取 {path}：{reason}",
    "the file is neither UTF-8 nor GB18030 text": "文件既不是 UTF-8 也不是 GB18030 编码的文本",
    "the header lacks the column(s) {cols}; it has: {header}": "表头缺少列 {cols}；现有列：{header}",
    "the file is empty": "文件是空的",
    "the label cannot be made: {reason}": "无法生成标签：{reason}",
    "{serial!r} is not a serial number (4-64 characters: A-Z, 0-9, . / _ -)":
        "{serial!r} 不是序列号（须为 4-64 个字符：A-Z、0-9、. / _ -）",
    "{waybill!r} is not a waybill number (6-40 characters: A-Z, 0-9, -)":
        "{waybill!r} 不是快递单号（须为 6-40 个字符：A-Z、0-9、-）",
    "name the courier (e.g. SF, ZTO, JD, EMS)": "请填写快递公司（如 SF 顺丰、ZTO 中通、JD 京东、EMS）",
    "{cost!r} is not an amount of money": "{cost!r} 不是有效金额",
    "a reason code needs a text": "原因代码必须填写说明",
    "reason code {code} already exists": "原因代码 {code} 已存在",
    "no reason code {code}": "没有原因代码 {code}",
    "an interception needs exactly one of: a serial range, a manufacture-date range, a firmware version":
        "拦截计划必须且只能指定一项：序列号范围、生产日期范围或固件版本",
    "an interception needs the action to take": "拦截计划必须写明处理措施",
    "a serial range needs both ends": "序列号范围必须有起止两端",
    "the serial range runs backwards: {a} > {b}": "序列号范围起止颠倒：{a} > {b}",
    "a manufacture-date range needs both ends, in order": "生产日期范围必须有起止两端，且先早后晚",
    "no parcel with waybill {waybill}": "没有快递单号为 {waybill} 的包裹",
    "waybill {waybill} exists with several couriers ({couriers}); name the courier":
        "快递单号 {waybill} 对应多家快递公司（{couriers}）；请指明快递公司",
    "declared count {n} is not a number of units": "申报数量 {n} 不是有效的机器数量",
    "waybill {waybill} was already received from {other}, not {this}":
        "快递单号 {waybill} 已登记为来自 {other}，而不是 {this}",
    "waybill {waybill} was just opened by someone else; scan it again": "快递单号 {waybill} 刚被他人登记；请重新扫描",
    "waybill {waybill} is one of our outbound parcels": "快递单号 {waybill} 是我方寄出的包裹",
    "parcel {waybill} was closed on {when}": "包裹 {waybill} 已于 {when} 关闭",
    "the file {name} is empty": "文件 {name} 是空的",
    "the file {name} is larger than {mb} MB": "文件 {name} 超过 {mb} MB",
    "{name} is neither an image nor a PDF": "{name} 既不是图片也不是 PDF",
    "no attachment {sha}": "没有附件 {sha}",
    "no model's serial pattern matches {serial}; pick the model": "没有机型的序列号规则与 {serial} 相符；请选择机型",
    "{serial} matches several models ({models}); pick one": "{serial} 与多个机型相符（{models}）；请选择一个",
    "{items} is not an accessory of {model} ({known})": "{items} 不是 {model} 的配件（配件有：{known}）",
    "unit {serial} was just received by someone else; scan it again": "机器 {serial} 刚被他人接收；请重新扫描",
    "unit {serial} was just received into another parcel by someone else":
        "机器 {serial} 刚被他人接收到另一个包裹中",
    "unit {serial} is {state} in visit {tag}; only a unit that passed its test ships":
        "机器 {serial} 在维修单 {tag} 中的状态为“{state}”；只有测试通过的机器才能寄出",
    "unit {serial} was scrapped in visit {tag}": "机器 {serial} 已在维修单 {tag} 中报废",
    "say which customer unit {serial} goes to": "请指明机器 {serial} 寄给哪个客户",
    "waybill {waybill} already goes to {other}, not {this}": "快递单号 {waybill} 已寄往 {other}，而不是 {this}",
    "visit {tag} is not at intake": "维修单 {tag} 不在接收环节",
    "an A4 sheet of labels is a PDF: add --format pdf": "A4 整页标签是 PDF：请加 --format pdf",
    "several tags make an A4 sheet: add --sheet a4 --format pdf": "多个标签须排成 A4 整页：请加 --sheet a4 --format pdf",
    "waybill {waybill} was just used by someone else; try again": "快递单号 {waybill} 刚被他人使用；请重试",
    "waybill {waybill} is an inbound parcel": "快递单号 {waybill} 是收到的来件包裹",
    "unit {serial} already left the depot": "机器 {serial} 已离开维修部",
    "{month!r} is not a month (YYYY-MM)": "{month!r} 不是月份（格式 YYYY-MM）",
}


def current_language() -> str:
    """The language of the browser behind the current page or event; English outside the UI."""
    nicegui = sys.modules.get("nicegui")
    if nicegui is None:  # never import the web stack just to translate (CLI, workers)
        return ENGLISH
    try:
        lang = nicegui.app.storage.user.get(LANGUAGE_KEY, ENGLISH)
    except (RuntimeError, AssertionError, KeyError, AttributeError):
        return ENGLISH
    return lang if lang in LANGUAGES else ENGLISH


def translate(text: str, lang: str) -> str:
    if lang == CHINESE:
        return ZH.get(text, text)
    return text


def _(text: str) -> str:
    return translate(text, current_language())


def state_label(state: VisitState | str | None) -> str:
    if state is None:
        return "—"
    try:
        return _(STATE_LABELS[VisitState(state)])
    except ValueError:
        return str(state)


def role_label(role: Role | str) -> str:
    try:
        return _(ROLE_LABELS[Role(role)])
    except ValueError:
        return str(role)


def event_label(event: str) -> str:
    label = EVENT_LABELS.get(event)
    return _(label) if label else event.replace("_", " ")


def detail_label(key: str) -> str:
    label = DETAIL_LABELS.get(key)
    return _(label) if label else key.replace("_", " ")


# Parameters whose values are themselves words of the trade, shown in the worker's language.
_STATE_PARAMS = frozenset({"state", "from_state", "to_state"})
_TEXT_PARAMS = frozenset({"action"})
_STATE_VALUES = frozenset(s.value for s in VisitState)
_ROLE_VALUES = frozenset(r.value for r in Role)


def _localise_param(name: str, value: object) -> object:
    if isinstance(value, str):
        if name in _STATE_PARAMS and value in _STATE_VALUES:
            return state_label(value)
        if name in _TEXT_PARAMS:
            return _(value)
        if name == "roles" and all(r in _ROLE_VALUES for r in value.split(" or ")):
            return " / ".join(role_label(r) for r in value.split(" or "))
    return value


def error_message(error: DomainError) -> str:
    """A domain error's message in the current language; falls back to English on a bad template."""
    params: Mapping[str, object] = {k: _localise_param(k, v) for k, v in error.params.items()}
    try:
        return _(error.template).format(**params)
    except (KeyError, IndexError, ValueError):
        return error.message
