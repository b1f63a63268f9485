"""Translations: English in the code, 简体中文 in one dictionary keyed by the English text.

``_(text)`` answers in the language of the browser the current page belongs to (kept in
NiceGUI's per-browser storage) and in English everywhere else (CLI, logs, tests).
Domain error templates are keys too, so the UI shows ``error_message(e)`` in the
worker's language with the same ``{placeholders}``.
"""

from __future__ import annotations

import importlib
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
    "What happened": "事件经过",
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
    "the demo stopped half-way ({reason}) and the database holds part of it: load the demo into a new, "
    "empty database":
        "演示数据导入中途停止（{reason}），数据库中只有部分演示数据：请将演示数据导入一个新的空数据库",
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
    "run tests": "执行测试",
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
    # --- bad scans (drivers.scan.ScanError templates; placeholders unchanged)
    "Empty scan: no characters were read ({shown}). Scan the label again.":
        "空扫描：没有读到任何字符（{shown}）。请重新扫描标签。",
    "Scan too long: {length} characters, at most {limit} allowed ({shown}). Is this the right label?":
        "扫描内容过长：{length} 个字符，最多允许 {limit} 个（{shown}）。扫的是正确的标签吗？",
    "Scan contains a GS1 group separator (GS, \\x1d) at position {position}: {shown}. "
    "This is a GS1 barcode, not a label of this depot.":
        "扫描内容在第 {position} 位含有 GS1 分组符（GS, \\x1d）：{shown}。这是 GS1 条码，不是本部门的标签。",
    "Scan contains the control character {char} at position {position}: {shown}. "
    "Check the scanner's settings and scan again.":
        "扫描内容在第 {position} 位含有控制字符 {char}：{shown}。请检查扫描枪设置后重新扫描。",
    "Garbled scan: {char} at position {position} is not plain ASCII ({shown}). "
    "Switch the keyboard to English input, check the scanner's settings, and scan again.":
        "乱码扫描：第 {position} 位的 {char} 不是 ASCII 字符（{shown}）。"
        "请把输入法切换到英文、检查扫描枪设置后重新扫描。",
    "Incomplete scan: {shown} never ended ({reason}). Scan the label again.":
        "扫描不完整：{shown} 没有结束符（{reason}）。请重新扫描标签。",
    "Scan too long: more than {limit} characters without an end of scan ({shown}). "
    "Check the scanner's terminator setting.":
        "扫描内容过长：超过 {limit} 个字符仍没有结束符（{shown}）。请检查扫描枪的结束符设置。",
    # --- ledger entry details
    "Parcel": "包裹",
    "Reason code": "原因代码",
    "Warranty until": "保修截止",
    "Interceptions": "拦截",
    "Accessories": "配件",
    "Missing": "缺少",
    "Model picked": "人工选择机型",
    "Candidate models": "候选机型",
    # --- ledger sentences (rma/sentences.py, rma/*/sentences.py)
    "{n} interception plans matched": "命中 {n} 个拦截计划",
    "interception: {actions}": "拦截：{actions}",
    "passed": "合格",
    "failed": "不合格",
    "not judged (error)": "未判定（出错）",
    "aborted by the tester": "测试员已中止",
    "incomplete": "未完成",
    "warranty unknown": "保修状态未知",
    "warranty void": "保修失效",
    "warranty until {date}": "保修至 {date}",
    "warranty: {x}": "保修：{x}",
    "reason {x}": "原因{x}",
    "parcel {x}": "包裹 {x}",
    "reason code {x}": "原因代码 {x}",
    "repeat return: back soon after visit {x}": "返修：维修单 {x} 出库后不久再次返回",
    "model {x} picked by the clerk": "机型 {x} 由物流员选定",
    "courier {x}": "快递 {x}",
    "waybill {x}": "运单 {x}",
    "customer {x}": "客户 {x}",
    "at station {x}": "工位 {x}",
    "test run {x}": "测试记录 {x}",
    "attempt {x}": "第 {x} 次",
    "plan {x}": "测试方案 {x}",
    "result: {x}": "结果：{x}",
    "fault found: {x}": "故障：{x}",
    "cause: {x}": "故障原因：{x}",
    "repair: {x}": "维修措施：{x}",
    "note {x}": "备注{x}",
    "at {x}": "在 {x}",
    "to location {x}": "入库库位 {x}",
    "man-made damage: {x}": "人为损坏：{x}",
    "{x} steps passed": "{x} 项测试合格",
    "accessories complete: {x}": "配件齐全：{x}",
    "packaging complete: {x}": "包装完好：{x}",
    "quantity {x}": "数量 {x}",
    "{qty} × {part}": "{part} × {qty}",
    "part {x}": "备件 {x}",
    "firmware {x}": "固件 {x}",
    "firmware {old} → {new}": "固件 {old} → {new}",
    "previous firmware {x}": "原固件 {x}",
    "measured {x}": "实测 {x}",
    "{step}: measured {value}": "{step}：实测 {value}",
    "test item {x}": "测试项 {x}",
    "in warranty until {date}": "保修期内（至 {date}）",
    "in warranty": "保修期内",
    "out of warranty since {date}": "已过保（{date} 到期）",
    "out of warranty": "已过保",
    "accessories: {x}": "配件：{x}",
    "no accessories": "无配件",
    "missing: {x}": "缺少：{x}",
    "models the serial could be: {x}": "序列号可能对应的机型：{x}",
    "failed steps: {x}": "不合格项：{x}",
    "done": "完成",
    "return reason {x}": "退货原因{x}",
    "accessories received: {x}": "随机配件：{x}",
    "parcel {x} closed": "包裹 {x} 已关闭",
    "received: {x}": "已收到：{x}",
    "none received": "未收到任何配件",
    "to {customer} by {courier}, waybill {waybill}": "寄往 {customer}，{courier} 运单 {waybill}",
    "by {courier}, waybill {waybill}": "{courier} 运单 {waybill}",
    "to {customer}": "寄往 {customer}",
    "CNY {amount}": "{amount} 元",
    "the step could not be done": "该步骤无法完成",
    "stopped by the tester": "测试员中止了测试",
    "the accessories and packaging check was not answered": "配件及包装检查未完成",
    "missing accessories or packaging: {items}": "缺少配件或包装：{items}",
    "{step} could not be done: {problem}": "{step} 无法完成：{problem}",
    "test run {run} carries on at station {station}: the station before stopped without an end":
        "测试记录 {run} 在工位 {station} 继续：之前的工位未结束就停止了",
    "{value} is not {expected}": "{value} 不等于 {expected}",
    "{value} does not match {pattern}": "{value} 不符合格式 {pattern}",
    "scanned {value} does not match {pattern}": "扫描值 {value} 不符合格式 {pattern}",
    "the operator answered no": "操作员回答：否",
    "the test ledger could not be written": "测试台账无法写入",
    "the end of the run could not be written to the test ledger": "测试结束记录无法写入测试台账",
    "{value} is below {limit}": "{value} 低于下限 {limit}",
    "{value} is above {limit}": "{value} 高于上限 {limit}",
    "the fixture port was lost": "夹具端口断开",
    "the fixture refused the command {command}": "夹具拒绝了指令 {command}",
    "the reply {value} is not a number": "应答 {value} 不是数字",
    "the model has no current firmware version in the catalogue": "产品目录中没有该机型的当前固件版本",
    "{value} is not yes or no": "{value} 不是“是”或“否”",
    "nobody answered the prompt": "无人回答提示",
    "the fixture does not answer": "夹具无应答",
    "the fixture did not reply in time": "夹具未在规定时间内应答",
    "the fixture sent bytes that cannot be read": "夹具发送了无法识别的数据",
    # --- logistics pages: shared words
    "Shipping": "寄出",
    "Returns ledger": "返厂机器台账",
    "Courier costs": "快递费用",
    "In warranty": "保内",
    "Out of warranty": "保外",
    "Warranty unknown": "保修未知",
    "until {date}": "至 {date}",
    "REPEAT": "返修",
    "of": "上次",
    "Interception:": "拦截：",
    "Inbound": "收件",
    "Outbound": "寄件",
    "Model": "机型",
    "Warranty": "保修",
    "Repeat of": "返修自",
    "Alerts": "拦截数",
    "Waybill": "快递单号",
    "Courier": "快递公司",
    "Courier cost": "快递费",
    "Declared": "申报数",
    "Scanned": "已扫描",
    "Open parcels": "未关闭的包裹",
    "No open parcels.": "没有未关闭的包裹。",
    "Printing…": "正在打印…",
    "Label queued…": "标签已排队…",
    "Label printed": "标签已打印",
    "Label failed: {reason}": "标签打印失败：{reason}",
    "Reprint": "补打",
    "Reprint label": "补打标签",
    "Processing {n}…": "处理中 {n}…",
    "Scanned: {scan}": "扫描内容：{scan}",
    "Scanned:": "扫描内容：",
    # --- where a label went, the model picker, shipping keys, the return reason, the 404 page
    "Label saved to {file}": "标签已保存到 {file}",
    "Label sent to printer {printer}": "标签已发送到打印机 {printer}",
    "Label sent to CUPS queue {queue}": "标签已发送到 CUPS 打印队列 {queue}",
    "Label not printed, still queued: {reason}. Press Reprint, or run rma label queue --retry.":
        "标签没有打印，仍在队列中：{reason}。请点“补打”，或运行 rma label queue --retry。",
    "A serial no model knows is often mistyped. Scan (or type) it a second time to confirm it.":
        "没有任何型号认识这个序列号，常常是输错了。请再扫描（或输入）一次以确认。",
    "Scan the serial again": "再次扫描序列号",
    "Serial confirmed: choose its model.": "序列号已确认：请选择型号。",
    "starts with {prefix}": "以 {prefix} 开头",
    "↑/↓ choose, Enter receives it as that model, Esc: do not receive it":
        "↑/↓ 选择，Enter 按该型号接收，Esc：不接收",
    "The second scan does not match {serial}: not received. Check the label and scan the serial again.":
        "第二次扫描与 {serial} 不一致：未接收。请核对标签后重新扫描序列号。",
    "No cost (Alt+N)": "无运费（Alt+N）",
    "cost {cost}": "运费 {cost}",
    "no cost": "无运费",
    "{amount} is an amount, not a unit: it went into the cost field.": "{amount} 是金额，不是机器：已填入运费栏。",
    "{amount} is an amount, not a unit; the cost is {cost}.": "{amount} 是金额，不是机器；运费为 {cost}。",
    "Type the courier cost, or tick “No cost” (Alt+N): a parcel does not ship without one.":
        "请输入运费，或勾选“无运费”（Alt+N）：没有运费的包裹不能寄出。",
    "Scan the unit, Enter; scan the waybill, Enter; the courier is guessed from the waybill: Enter accepts it; "
    "type the cost, Enter ships. No cost? Alt+N ticks it. Ctrl+Enter ships from any field. The waybill, courier "
    "and cost stay for the next unit of the same parcel: then a scan of the unit and Enter ship it.":
        "扫描机器，Enter；扫描快递单号，Enter；快递公司根据单号判断：Enter 确认；输入运费，Enter 寄出。"
        "无运费？Alt+N 勾选。任何栏中 Ctrl+Enter 都可寄出。单号、快递公司和运费保留给同一包裹的下一台："
        "只需扫描机器再按 Enter。",
    "Record reason": "登记原因",
    "Return reason of {tag} recorded.": "{tag} 的退回原因已登记。",
    "Reason recorded": "已登记退回原因",
    "record return reasons": "登记退回原因",
    "visit {tag} is closed ({state}): its return reason can no longer change":
        "维修单 {tag} 已结束（{state}）：退回原因不能再更改",
    "give a reason code or a text": "请给出原因代码或文字说明",
    "a return reason text has at most {n} characters": "退回原因说明最多 {n} 个字符",
    "Closed": "结束",
    "Repeat · alerts": "返修 · 拦截",
    "Visits: {total}": "维修单：{total}",
    "Visits {first}–{last} of {total}, newest first; the export has them all.":
        "维修单 第 {first}–{last} 条，共 {total} 条，最新的在前；导出包含全部。",
    "Interception alerts: {n}": "拦截提醒：{n}",
    "Newer": "较新",
    "Older": "较早",
    "In": "保内",
    "Out": "保外",
    "Unknown": "未知",
    "Page not found": "找不到页面",
    "There is no page here.": "这里没有页面。",
    "Nothing lives at {path}. Check the address, or go back to the home page.":
        "{path} 没有内容。请检查地址，或回到首页。",
    # --- the intake station
    "Step 1: scan the courier waybill": "第 1 步：扫描快递单号",
    "Step 2: scan the serial of each unit": "第 2 步：逐台扫描机器序列号",
    "Scan the waybill": "扫描快递单号",
    "Scan a serial": "扫描序列号",
    "or Tab ends a scan": "或 Tab 结束一次扫描",
    "close the parcel": "关闭包裹",
    "reason": "退回原因",
    "free text": "补充说明",
    "all accessories present": "配件齐全",
    "tick accessory n of the newest unit": "勾选最新一台的第 n 个配件",
    "back to the scan field": "回到扫描框",
    "Return reason (for the next scans)": "退回原因（用于接下来的扫描）",
    "Dealer's complaint, free text (optional)": "经销商描述的故障，补充说明（可选）",
    "New parcel": "新包裹",
    "courier guessed from the waybill: {courier}": "根据单号判断快递公司：{courier}",
    "Sender (customer)": "寄件客户",
    "Declared units": "申报台数",
    "Open parcel": "开始收货",
    "Enter in any field opens the parcel; in the sender field it takes the first match.":
        "在任一输入框按 Enter 即开始收货；在寄件客户框按 Enter 选中第一个匹配项。",
    "Parcel {waybill} open: scan the serials.": "包裹 {waybill} 已打开：请扫描序列号。",
    "Close parcel": "关闭包裹",
    "Leave open": "暂不关闭",
    "Attach waybill photo": "上传快递单照片",
    "Scanned {n} (no declared count)": "已扫描 {n} 台（未申报数量）",
    "Scanned {n} of {declared} declared": "已扫描 {n} 台 / 申报 {declared} 台",
    "Close parcel {waybill}?": "关闭包裹 {waybill}？",
    "Declared {declared}, scanned {scanned}.": "申报 {declared} 台，已扫描 {scanned} 台。",
    "Enter closes it, Esc goes back to scanning.": "按 Enter 关闭，按 Esc 返回继续扫描。",
    "Back to scanning": "返回扫描",
    "Parcel {waybill} closed: declared {declared}, scanned {scanned}.":
        "包裹 {waybill} 已关闭：申报 {declared} 台，实收 {scanned} 台。",
    "Its units went to the bench queue.": "机器已转入待修队列。",
    "Parcel {waybill} closed.": "包裹 {waybill} 已关闭。",
    "SHORT delivery: {n} unit(s) missing": "少件：缺少 {n} 台",
    "OVER delivery: {n} unit(s) more than declared": "多件：比申报多 {n} 台",
    "{scan} looks like a courier waybill, not a serial. To open another parcel, close or leave this one first.":
        "{scan} 看起来是快递单号而不是序列号。要打开另一个包裹，请先关闭或暂离当前包裹。",
    "{tag} · {serial} received": "{tag} · {serial} 已接收",
    "Already scanned: {serial} is {tag}": "已扫描过：{serial} 的标签号是 {tag}",
    "Which model is {serial}?": "{serial} 是哪个机型？",
    "↑/↓ choose, Enter confirms, Esc: do not receive it": "↑/↓ 选择，Enter 确认，Esc 不接收",
    "Receive as this model": "按此机型接收",
    "{serial} was not received: no model chosen. Scan it again to receive it.":
        "{serial} 未接收：没有选择机型。请重新扫描以接收。",
    "Already scanned in this parcel: same tag, no second visit.": "本包裹中已扫描过：标签号不变，不会重复建档。",
    "Reason: {reason}": "原因：{reason}",
    "Accessories:": "随机配件：",
    "All present": "配件齐全",
    "Open {tag}": "查看 {tag}",
    "The label of {tag} did not print: {reason}": "{tag} 的标签没有打印出来：{reason}",
    "Unexpected error: {error}": "意外错误：{error}",
    "Scanner connected": "扫描枪已连接",
    "Scanner connecting…": "正在连接扫描枪…",
    "Scanner disconnected ({reason})": "扫描枪已断开（{reason}）",
    "Scanner disconnected: {reason}": "扫描枪已断开：{reason}",
    "Scanner in use by another intake page; reload to take it back": "扫描枪正被另一个收货页面使用；刷新本页可收回",
    # --- shipping
    "Ship units out": "寄出机器",
    "Unit: tag or serial": "机器：标签号或序列号",
    "To customer (optional: else back to the sender)": "寄往客户（可选：不填则寄回寄件人）",
    "Ship": "寄出",
    "Enter moves to the next field; in the cost field it ships. The waybill stays for the next unit of the "
    "same parcel: then a scan of the unit and Enter ship it.":
        "按 Enter 跳到下一栏；在快递费栏按 Enter 即寄出。快递单号会保留给同一包裹的下一台："
        "此时扫描机器后按 Enter 即可寄出。",
    "Already in this parcel: nothing changed.": "已在此包裹中：未做改动。",
    "to {customer} by {courier} {waybill}": "寄往 {customer}，{courier} {waybill}",
    # --- the returns ledger and courier costs
    "From": "从",
    "To": "到",
    "Repeat returns only": "只看返修",
    "Intercepted only": "只看拦截",
    "Show": "查询",
    "Export CSV": "导出 CSV",
    "No visits match.": "没有符合条件的维修单。",
    "The newest {n} visits; the export has them all.": "显示最新的 {n} 条；导出文件包含全部。",
    "Visits: {n}": "维修单：{n} 条",
    "Month": "月份",
    "Total {month}: {total}": "{month} 合计：{total}",
    "By courier": "按快递公司",
    "Every parcel": "全部包裹",
    "Direction": "方向",
    "Parcels": "包裹数",
    "Cost": "费用",
    "Parcels without a cost": "未填费用的包裹",
    "No parcels this month.": "本月没有包裹。",
    "Date": "日期",
    # --- the unit page: intake and labels
    "Intake and labels": "收货信息与标签",
    "Accessories received": "收到的配件",
    "none recorded": "未登记",
    "No intake record: this visit was opened before courier intake.": "无收货记录：此维修单建于快递收货功能之前。",
    "(picked by the clerk)": "（物流员选择）",
    # --- admin: shipment records
    "Import shipment records": "导入出厂发货记录",
    "A CSV with the columns serial and model, and optionally manufactured_on, shipped_on, customer, firmware. "
    "Each row creates or updates one unit; a bad row is rejected with its line number.":
        "CSV 文件，必需列 serial 和 model，可选列 manufactured_on、shipped_on、customer、firmware。"
        "每行新建或更新一台机器；有问题的行会连同行号被拒收。",
    "Shipment records (CSV)": "出厂发货记录（CSV）",
    "{done} of {total} rows": "{done} / {total} 行",
    "Reading {name}…": "正在读取 {name}…",
    "{rows} rows: {created} units created, {updated} updated, {rejected} rejected.":
        "共 {rows} 行：新建 {created} 台，更新 {updated} 台，拒收 {rejected} 行。",
    "Line": "行号",
    "Why it was rejected": "拒收原因",
    "Shipment records imported.": "出厂发货记录已导入。",
    "Choose the sender (customer) first.": "请先选择寄件客户。",
    "The file is too large: at most {mb} MB.": "文件太大：最大 {mb} MB。",
    # --- admin: this station's self-check (rma/station/checks.py MESSAGES)
    "This station": "本工位",
    "Check again": "重新检查",
    "Checking this station…": "正在检查本工位…",
    "Everything this station needs is in place: a font for Chinese labels, the label printer, and the ports named "
    "in rma.toml.": "本工位所需一切就绪：中文标签字体、标签打印机以及 rma.toml 中配置的端口。",
    "No font for Chinese text: labels cannot be printed. Install the Debian package {package} "
    "(./scripts/run installs it).": "没有中文字体：无法打印标签。请安装 Debian 软件包 {package}（./scripts/run 会自动安装）。",
    "The [printer] settings in rma.toml are not usable: {reason}": "rma.toml 中的 [printer] 设置无法使用：{reason}",
    "Label printer {printer} refuses the connection: is it switched on, and is {port} its raw port?":
        "标签打印机 {printer} 拒绝连接：打印机是否已开机？{port} 是否是它的原始数据端口？",
    "Label printer {printer} does not answer within {seconds} s: is it switched on and on the network?":
        "标签打印机 {printer} 在 {seconds} 秒内无应答：打印机是否已开机并已接入网络？",
    "Label printer {printer} cannot be reached: {reason}": "无法连接标签打印机 {printer}：{reason}",
    "Labels cannot be saved in the folder {path}: {reason}": "无法将标签保存到文件夹 {path}：{reason}",
    "The print command {command} is not installed: install the Debian package cups-client.":
        "未安装打印命令 {command}：请安装 Debian 软件包 cups-client。",
    "The test fixture port {port} does not exist: is the fixture plugged in?": "测试夹具端口 {port} 不存在：夹具是否已连接？",
    "The test fixture port {port} may not be opened by this user: add the user to the group {group}.":
        "当前用户无权打开测试夹具端口 {port}：请把该用户加入 {group} 组。",
    "The test fixture port {port} is not usable: {reason}": "测试夹具端口 {port} 无法使用：{reason}",
    "The test fixture port {port} is neither a device path nor a socket://host:port address.":
        "测试夹具端口 {port} 既不是设备路径，也不是 socket://主机:端口 地址。",
    "The scanner port {port} does not exist: is the scanner plugged in?": "扫描枪端口 {port} 不存在：扫描枪是否已连接？",
    "The scanner port {port} may not be opened by this user: add the user to the group {group}.":
        "当前用户无权打开扫描枪端口 {port}：请把该用户加入 {group} 组。",
    "The scanner port {port} is not usable: {reason}": "扫描枪端口 {port} 无法使用：{reason}",
    "The scanner port {port} is neither a device path nor a socket://host:port address.":
        "扫描枪端口 {port} 既不是设备路径，也不是 socket://主机:端口 地址。",
    "The serial scanner has no url in rma.toml ([scanner] url = \"/dev/ttyACM0\").":
        "rma.toml 中串口扫描枪没有配置 url（[scanner] url = \"/dev/ttyACM0\"）。",
    # --- test station
    "an answer is STEP=VALUE, got {pair!r}": "回答的格式是 步骤=值，收到的是 {pair!r}",
    "test plan {where}: {reason}": "测试方案 {where}：{reason}",
    "there is no test plan for model {model}": "机型 {model} 没有测试方案",
    "the plan of {model} has no prompt {steps}": "{model} 的测试方案中没有提示步骤 {steps}",
    "no test run {run}": "没有测试记录 {run}",
    "unit {serial} has no open visit: it is not in the depot now": "机器 {serial} 没有未结维修单：它目前不在维修部",
    "visit {tag} is being tested at {station} by {user}": "维修单 {tag} 正在 {station} 由 {user} 测试",
    "visit {tag} is {state}: an incoming test is for units just received or awaiting the bench":
        "维修单 {tag} 的状态为“{state}”：来料测试只用于刚接收或待维修的机器",
    "visit {tag} is {state}: only a unit awaiting test can be tested": "维修单 {tag} 的状态为“{state}”：只有待测试的机器才能测试",
    "step {step} asks the operator: {prompt} (answer with --answer {step}=…)":
        "步骤 {step} 需要操作员回答：{prompt}（用 --answer {step}=… 回答）",
    "say how the accessories and packaging are: --accessories-ok or --missing ITEM (the list: {items})":
        "请说明配件及包装情况：--accessories-ok 或 --missing 项目（清单：{items}）",
    "outcome is one of: pass, fail, error, aborted, incomplete": "结果须为以下之一：pass、fail、error、aborted、incomplete",
    # --- the test station pages (rma/test_station/pages_*.py)
    "the fixture port {port!r} is not usable: {reason}": "夹具端口 {port!r} 不可用：{reason}",
    "Test taken over": "接手测试",
    "Failed steps": "不合格步骤",
    "Test ledger": "测试台账",
    "Test run": "测试记录",
    "Test run {run}": "测试记录 {run}",
    "Outgoing test": "出货测试",
    "Incoming test": "来料测试",
    "PASS": "测试通过",
    "FAIL": "测试不合格",
    "ERROR": "测试出错",
    "ABORTED": "已中止",
    "INCOMPLETE": "未完成",
    "Pass": "合格",
    "Fail": "不合格",
    "Error": "出错",
    "Running": "进行中",
    "Your turn": "待回答",
    "Waiting": "等待",
    "Not run": "未执行",
    "Step": "步骤",
    "Steps": "测试步骤",
    "Command": "指令",
    "Limits": "上下限",
    "Value": "测量值",
    "Verdict": "判定",
    "Message": "说明",
    "Attempts": "尝试次数",
    "Attempt": "次数",
    "Fixture": "夹具",
    "Fixture port": "夹具端口",
    "Fixture identity": "夹具识别",
    "Fixture port: none": "夹具端口：未设置",
    "Fixture port {port} (from rma.toml) · station {station}": "夹具端口 {port}（来自 rma.toml）· 工位 {station}",
    "Fixture port {port} (set in this browser) · station {station}": "夹具端口 {port}（本浏览器设置）· 工位 {station}",
    "station {station}": "工位 {station}",
    "Change": "更改",
    "The fixture port of this browser (empty: none):": "本浏览器使用的夹具端口（留空表示不设置）：",
    "This station has no fixture port in rma.toml.": "本工位的 rma.toml 中没有设置夹具端口。",
    "Add [test_station] port = \"/dev/ttyUSB0\" to rma.toml, or give the port for this browser:":
        "请在 rma.toml 中加入 [test_station] port = \"/dev/ttyUSB0\"，或在此为本浏览器填写端口：",
    "Use this port": "使用此端口",
    "No fixture port: give the port of the fixture first.": "未设置夹具端口：请先填写夹具端口。",
    "Scan the tag or serial": "扫描标签或序列号",
    "Scan the tag of a unit to test it.": "扫描机器标签即开始测试。",
    "ends a scan": "结束一次扫描",
    "outgoing / incoming": "出货测试 / 来料测试",
    "aborts a running test": "中止正在进行的测试",
    "A test is running: let it finish, or abort it with Esc, before the next scan.":
        "测试进行中：请等待测试结束，或按 Esc 中止后再扫描下一台。",
    "Check the tag and the test kind, then scan again.": "请核对标签和测试类型后重新扫描。",
    "Starting the test of {tag}…": "正在启动 {tag} 的测试…",
    "The test could not start: {error}": "测试无法启动：{error}",
    "first test": "首次测试",
    "re-test, attempt {n}": "复测，第 {n} 次",
    "Plan": "测试方案",
    "Abort": "中止",
    "Abort the test": "中止测试",
    "{done} of {total} steps": "已完成 {done} / {total} 步",
    "Now: {step}": "当前：{step}",
    "Waiting for your answer: {step}": "等待您回答：{step}",
    "no answer": "无应答",
    "Stopping: the step in progress finishes first.": "正在中止：当前步骤完成后停止。",
    "Scan the barcode": "扫描条码",
    "Yes": "是",
    "No": "否",
    "yes": "是",
    "no": "否",
    "yes / no": "是 / 否",
    "scan": "扫描",
    "no firmware version in the catalogue": "机型资料中没有当前固件版本",
    "Accessories and packaging check": "配件及包装检查",
    "Tick what is in the box.": "请勾选箱内实有的物品。",
    "Space": "空格",
    "ticks the item in focus": "勾选当前项",
    "all present": "配件齐全",
    "finish": "完成",
    "Finish": "完成",
    "Missing: {items}. Finish again to record them: the unit fails.":
        "缺少：{items}。再次点击“完成”即登记缺件：本机判为测试不合格。",
    "Every step passed and the accessories and packaging are complete: the unit has passed.":
        "所有步骤合格，配件及包装齐全：本机测试通过。",
    "Every step passed: no fault found.": "所有步骤合格：未发现故障。",
    "The unit failed the test.": "本机测试不合格。",
    "Missing accessories or packaging: {items}": "配件或包装缺少：{items}",
    "It goes back to the bench.": "退回维修。",
    "The unit was not judged.": "本机未能判定。",
    "The unit was not judged: {step} could not be done.": "本机未能判定：无法完成步骤“{step}”。",
    "The fixture's port was lost: check its cable and power, then scan the tag again.":
        "夹具端口已断开：请检查连接线和夹具电源，然后重新扫描标签。",
    "The unit stays awaiting test: scan it again to re-test.": "本机仍为待测试：重新扫描即可复测。",
    "The unit stays awaiting test.": "本机仍为待测试。",
    "Stopped by the tester.": "已由测试员中止。",
    "NOT saved in the test ledger: {reason}": "未保存到测试台账：{reason}",
    "the test stopped unexpectedly ({error}); the run stays incomplete": "测试意外停止（{error}）；该记录为未完成",
    "Run {run} in the test ledger": "测试台账第 {run} 号记录",
    "Run": "记录号",
    "Test": "测试类型",
    "Station": "工位",
    "Outcome": "结果",
    "Started": "开始时间",
    "Test runs": "测试记录",
    "No test runs yet.": "还没有测试记录。",
    "Ended": "结束时间",
    "Failed step": "不合格步骤",
    "Failed steps / reason": "不合格步骤 / 原因",
    "Export JSON": "导出 JSON",
    "Runs: {total}": "测试记录：{total} 条",
    "Runs {first}–{last} of {total}, newest first; the exports have them all.":
        "测试记录第 {first}–{last} 条（共 {total} 条，最新在前）；导出文件包含全部。",
    "No test runs match.": "没有符合条件的测试记录。",
    "First-pass yield": "一次通过率",
    "Outgoing tests per model: a unit's first test that ended PASS or FAIL, and the re-tests after it.":
        "按机型统计出货测试：每台机器以“测试通过”或“测试不合格”结束的首次测试，以及其后的复测。",
    "First tests": "首次测试数",
    "Passed first time": "首次通过数",
    "Re-tests": "复测数",
    "No finished outgoing tests yet.": "还没有已结束的出货测试。",
    "{run!r} is not a run number.": "{run!r} 不是测试记录号。",
    "Plan SHA-256": "方案 SHA-256",
    "incomplete: the run has no end": "未完成：该测试没有结束记录",
    "Time (ms)": "用时（毫秒）",
    "Raw reply": "夹具原始应答",
    "No steps were recorded.": "没有记录任何步骤。",
    "No checklist: an incoming test, or the run ended before it.": "无检查记录：来料测试，或测试在检查前已结束。",
    "missing": "缺少",
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


# Parameters whose values are themselves words of the trade, shown in the worker's language.
# Hostile input: refused texts, far dates, files that are not what they claim, and the names
# of the fields those messages name (``field`` is translated like ``action``).
ZH.update({
    "{field} contains a control character ({char}); type it again without it": "{field}含有控制字符（{char}），请去掉后重新输入",
    "{field} is longer than {limit} characters ({length})": "{field}超过 {limit} 个字符（{length}）",
    "{field} is required": "请填写{field}",
    "{field} must be a text": "{field}必须是文本",
    "{field} {value} is out of range ({low} to {high})": "{field} {value} 超出范围（{low} 至 {high}）",
    "month {month} is out of range ({low} to {high})": "月份 {month} 超出范围（{low} 至 {high}）",
    "a limit is a number of rows from 1 to {most}, not {limit}": "条数上限应为 1 至 {most} 的整数，而不是 {limit}",
    "cannot write {path}: {reason}": "无法写入 {path}：{reason}",
    "a password is at most {n} characters, without control characters": "密码最多 {n} 个字符，且不能含控制字符",
    "internal error: {error} (run again with RMA_DEBUG=1 for the details)":
        "内部错误：{error}（设置 RMA_DEBUG=1 后重新运行可查看详情）",
    "not received: the database failed before this serial": "未接收：处理到此序列号之前数据库已出错",
    "the header row has control characters": "表头行含有控制字符",
    "the header row is not CSV: {reason}": "表头行不是 CSV 格式：{reason}",
    "the test plan of {model} is broken: {reason}": "{model} 的测试方案有错误，无法使用：{reason}",
    "{name} is an image of more than {mp} megapixels": "{name} 是超过 {mp} 百万像素的图片",
    "date": "日期",
    "manufactured_on": "生产日期",
    "shipped_on": "发货日期",
    "customer name": "客户名称",
    "region": "地区",
    "contact": "联系人",
    "model name": "型号名称",
    "serial pattern": "序列号规则",
    "firmware": "固件版本",
    "accessory": "配件",
    "display name": "显示名称",
    "reason for the move": "手动移动的原因",
    "reason text": "原因说明",
    "courier": "快递公司",
    "action": "处理措施",
    "complaint": "故障描述",
    "file name": "文件名",
    "content type": "文件类型",
    "fixture port": "夹具端口",
    "answer": "回答",
    "station": "工位",
    "step": "测试步骤",
    "customer": "客户",
    "model": "型号",
    "tag": "标签号",
})

# Each area keeps its own 简体中文 in ``rma/<area>/zh.py`` (a plain ``ZH`` dict, importing nothing of
# rma), so that areas built side by side never edit the same lines here.
AREA_TRANSLATIONS = ("rma.core.zh", "rma.inventory.zh", "rma.bench.zh", "rma.programming.zh", "rma.reports.zh")
for _module in AREA_TRANSLATIONS:
    try:
        ZH.update(importlib.import_module(_module).ZH)
    except ModuleNotFoundError as _missing:
        if _missing.name != _module:
            raise

_STATE_PARAMS = frozenset({"state", "from_state", "to_state"})
_TEXT_PARAMS = frozenset({"action", "field", "what", "status"})
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
