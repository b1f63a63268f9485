"""Demo data: a catalogue, dealers, one user per role, and a few dozen visits in every state.

``rma demo`` loads it into an empty database so that a newcomer finds a department at work:
units waiting at every station, units that left (refurbished, shipped, scrapped, returned
unrepaired) and units that came back again. Users and visits are made through the services,
so every visit's ledger is one a real shop floor could have written; the unit of work's
clock is set by hand before each step, backdating the ledgers over the last two months of
working hours. A fixed random seed makes the demo the same every time for the same ``today``.
"""

from __future__ import annotations

import calendar
import random
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from rma.core import catalogue, services
from rma.core.models import Customer, ProductModel, Role, Unit, User, Visit
from rma.core.states import TERMINAL, VisitState
from rma.db import Database, UnitOfWork
from rma.errors import DomainError

S = VisitState
SEED = 8800
CHINA = timezone(timedelta(hours=8), "CST")  # the factory's clock; China keeps no summer time
WINDOW_DAYS = 60  # visits spread over this many days before ``today``


@dataclass(frozen=True)
class DemoResult:
    """What ``load_demo`` did; the counts are what the database holds afterwards."""

    created: bool
    users: list[tuple[str, str, list[str]]]  # username, demo password, roles
    models: int
    customers: int
    visits: int


# ---------------------------------------------------------------- the catalogue

@dataclass(frozen=True)
class _Case:
    """A failure mode: what the dealer reports, what the bench finds, and how it is fixed."""

    symptom: str
    fault: str
    cause: str
    action: str
    part: str | None = None  # a part that must come from stores
    reflash: bool = False  # the fix is reprogramming


@dataclass(frozen=True)
class _TestFailure:
    step: str
    measured: str
    fault: str
    action: str


@dataclass(frozen=True)
class _ModelSpec:
    code: str
    name: str
    family: str
    serial_pattern: str
    serial_prefix: str
    line_letter: bool  # the serial carries the production line (A-Z without I and O)
    warranty_months: int
    firmware: str
    old_firmware: str
    accessories: tuple[str, ...]
    units: int  # how many demo units of this model

    def serial(self, made_on: date, number: int, line: str) -> str:
        head = f"{self.serial_prefix}{made_on:%y}{MONTH_CODES[made_on.month - 1]}"
        return f"{head}{line}{number:05d}" if self.line_letter else f"{head}{number:06d}"


MONTH_CODES = "123456789ABC"
LINE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"

MODELS: tuple[_ModelSpec, ...] = (
    _ModelSpec(
        "HU-8800", "10.25英寸智能车机 HU-8800", "head_unit", r"^HU88[0-9]{2}[1-9A-C][0-9]{6}$", "HU88",
        False, 24, "3.2.17", "3.1.9",
        ("主机线束", "USB延长线", "GPS天线", "麦克风", "安装支架×2", "螺丝包（M5×8 ×6）", "用户手册"), 9,
    ),
    _ModelSpec(
        "HU-6200", "9英寸车机 HU-6200（带CAN协议盒）", "head_unit", r"^HU62[0-9]{2}[1-9A-C][0-9]{6}$", "HU62",
        False, 24, "2.8.4", "2.7.11",
        ("主机线束", "CAN协议盒", "装饰面框", "GPS天线", "麦克风", "收音天线转接线", "螺丝包", "用户手册"), 7,
    ),
    _ModelSpec(
        "NAV-520", "7英寸导航模块 NAV-520", "navigation", r"^NV52[0-9]{2}[1-9A-C][0-9]{6}$", "NV52",
        False, 24, "5.0.3", "4.9.8",
        ("电源线束", "GPS天线", "32GB地图卡（microSD）", "安装支架", "螺丝包", "用户手册"), 6,
    ),
    _ModelSpec(
        "DC-220", "前后双录行车记录仪 DC-220", "dash_cam", r"^DC22[0-9]{2}[1-9A-C][A-HJ-NP-Z][0-9]{5}$", "DC22",
        True, 12, "1.6.2", "1.5.8",
        ("吸盘支架", "3M静电贴", "降压线（12V转5V）", "后摄像头", "后摄延长线 6 m", "32GB microSD卡", "撬线棒",
         "用户手册"), 8,
    ),
    _ModelSpec(
        "IC-700", "12.3英寸全液晶仪表 IC-700", "cluster", r"^IC70[0-9]{2}[1-9A-C][0-9]{6}$", "IC70",
        False, 36, "4.3.0", "4.2.6",
        ("仪表线束转接头", "螺丝包（M4×10 ×4）", "合格证"), 6,
    ),
    _ModelSpec(
        "GW-310", "中央网关控制器 GW-310", "ecu", r"^GW31[0-9]{2}[1-9A-C][0-9]{6}$", "GW31",
        False, 36, "1.12.0", "1.11.3",
        ("安装支架", "螺丝包（M6×12 ×2）", "合格证"), 4,
    ),
)

CASES: dict[str, tuple[_Case, ...]] = {
    "head_unit": (
        _Case("不开机", "电源管理IC击穿", "电源浪涌", "更换电源管理IC", "电源管理IC"),
        _Case("屏幕闪烁", "LCD排线松动", "装配不良", "重新压接LCD排线并点胶固定"),
        _Case("触摸失灵", "触摸屏控制IC损坏", "元器件失效", "更换触摸屏总成", "触摸屏总成"),
        _Case("左声道无声音", "功放IC左声道输出级损坏", "元器件失效", "更换功放IC", "功放IC TDA7851"),
        _Case("反复重启，卡在开机LOGO", "eMMC系统分区损坏", "软件异常", "重新烧录系统固件", reflash=True),
        _Case("蓝牙无法连接手机", "蓝牙模块虚焊", "焊接不良", "补焊蓝牙模块"),
        _Case("CAN通信故障，方向盘按键无效", "CAN收发器损坏", "线束短路冲击", "更换CAN收发器", "CAN收发器 TJA1042"),
        _Case("倒车影像黑屏", "视频解码IC虚焊", "焊接不良", "补焊视频解码IC"),
    ),
    "navigation": (
        _Case("GPS无法定位", "GPS模块射频前端损坏", "静电损伤", "更换GPS模块", "GPS模块"),
        _Case("提示地图卡读取失败", "TF卡座弹片变形", "插拔磨损", "更换TF卡座", "TF卡座"),
        _Case("开机卡在LOGO界面", "引导程序损坏", "升级中断电", "重新烧录引导程序及系统", reflash=True),
        _Case("触摸漂移", "触摸校准数据丢失", "软件异常", "重新烧录并校准触摸", reflash=True),
    ),
    "dash_cam": (
        _Case("后摄像头黑屏", "后摄接口针脚氧化", "接插件受潮", "更换后摄接口座", "后摄接口座"),
        _Case("前录画面模糊，夜间噪点大", "图像传感器损坏", "元器件失效", "更换镜头模组", "镜头模组"),
        _Case("熄火后最后一段录像丢失", "超级电容鼓包", "高温老化", "更换超级电容", "超级电容 5.5V 1F"),
        _Case("提示TF卡错误，录像自动停止", "固件录像参数缺陷", "软件缺陷", "升级固件至当前版本", reflash=True),
        _Case("WiFi无法连接手机APP", "WiFi天线焊点脱落", "焊接不良", "补焊WiFi天线"),
        _Case("不开机", "降压电路保险电阻烧断", "电源浪涌", "更换保险电阻"),
    ),
    "cluster": (
        _Case("仪表黑屏，背光不亮", "背光驱动IC损坏", "元器件失效", "更换背光驱动IC", "背光驱动IC"),
        _Case("液晶屏花屏", "LCD屏内部线路损坏", "元器件失效", "更换LCD屏", "LCD屏 12.3英寸"),
        _Case("CAN通信故障，多个故障灯常亮", "CAN收发器损坏", "线束短路冲击", "更换CAN收发器", "CAN收发器 TJA1042"),
        _Case("里程显示异常", "EEPROM里程数据校验错误", "软件异常", "重新烧录程序并恢复里程", reflash=True),
    ),
    "ecu": (
        _Case("CAN通信故障（U0100 与ECM失去通讯）", "CAN收发器损坏", "线束短路冲击", "更换CAN收发器",
              "CAN收发器 TJA1043"),
        _Case("诊断仪无法连接网关", "MCU程序损坏", "刷写中断", "重新烧录MCU程序", reflash=True),
        _Case("静态电流偏大导致亏电", "电源滤波电容漏电", "元器件老化", "更换滤波电容"),
        _Case("偶发通讯中断", "连接器端子退针", "装配不良", "更换连接器端子", "连接器端子"),
    ),
}

TEST_FAILURES: dict[str, tuple[_TestFailure, ...]] = {
    "head_unit": (
        _TestFailure("音频输出", "左声道THD 6.8%，上限 1%", "功放输出电容虚焊", "补焊输出电容"),
        _TestFailure("触摸测试", "右下角区域无响应", "触摸排线未插到位", "重新插接触摸排线"),
        _TestFailure("倒车影像", "CVBS输入无图像", "视频输入端子虚焊", "补焊视频输入端子"),
    ),
    "navigation": (_TestFailure("GPS冷启动定位", "120 s 未定位，上限 60 s", "GPS天线座接触不良", "更换天线座"),),
    "dash_cam": (_TestFailure("后路录像", "后摄图像间歇黑屏", "后摄线材压接不良", "重新压接后摄线材"),),
    "cluster": (_TestFailure("CAN通信", "报文丢帧率 3%，上限 0.1%", "CAN终端电阻虚焊", "补焊终端电阻"),),
    "ecu": (_TestFailure("静态电流", "实测 8.6 mA，上限 3 mA", "滤波电容漏电", "更换滤波电容"),),
}

TEST_STEPS = {"head_unit": 18, "navigation": 12, "dash_cam": 10, "cluster": 14, "ecu": 9}

SCRAP_REASONS = ("主板进水腐蚀严重，维修成本高于新品", "主板多处烧毁碳化，无维修价值")
DISCONTINUED = "所需备件已停产，无替代料，主管批准报废"
DAMAGE = (
    ("进水", "人为损坏：主机进水，保修失效，经销商不同意付费维修"),
    ("撞击", "人为损坏：外壳撞击变形，保修失效，经销商不同意付费维修"),
    ("封条破损", "防拆封条破损，已被第三方拆修，不予保修，经销商要求原样退回"),
)
OUT_OF_WARRANTY = "超出保修期，经销商不接受维修报价"
WITHDRAWN = "经销商误寄（车主未申请索赔），要求原样退回"

# ---------------------------------------------------------------- people and dealers

USERS: tuple[tuple[str, str, Role], ...] = (
    ("admin", "周建国", Role.ADMIN),  # first: bootstraps the others
    ("clerk", "李娜", Role.CLERK),
    ("technician", "张伟", Role.TECHNICIAN),
    ("lead", "王志强", Role.LEAD),
    ("tester", "刘洋", Role.TESTER),
    ("materials", "陈静", Role.MATERIALS),
    ("supervisor", "赵立明", Role.SUPERVISOR),
)

CUSTOMERS: tuple[tuple[str, str, str, str], ...] = (
    ("4S-SH-PD01", "上海浦东骏达汽车销售服务有限公司", "华东", "王海峰 138-1762-4093"),
    ("4S-JS-SZ01", "苏州工业园区恒瑞汽车销售服务有限公司", "华东", "沈佳怡 139-1368-2751"),
    ("4S-ZJ-HZ01", "杭州萧山通泰汽车销售服务有限公司", "华东", "陆文斌 137-5810-6642"),
    ("4S-GD-GZ01", "广州天河粤宝汽车销售服务有限公司", "华南", "陈志鹏 135-6033-8126"),
    ("4S-GD-SZ01", "深圳市南山鹏程汽车销售服务有限公司", "华南", "黄丽萍 136-3271-5408"),
    ("4S-BJ-CY01", "北京朝阳京顺达汽车销售服务有限公司", "华北", "刘晓东 139-1045-7739"),
    ("DT-TJ-01", "天津滨海津鑫汽车电子贸易有限公司", "华北", "张宏亮 133-0221-9584"),
    ("4S-SC-CD01", "成都蜀都锦程汽车销售服务有限公司", "西南", "李思雨 138-8024-3167"),
    ("4S-CQ-YB01", "重庆渝北华岳汽车销售服务有限公司", "西南", "罗建平 139-8317-6250"),
    ("4S-HB-WH01", "武汉江汉楚天汽车销售服务有限公司", "华中", "周敏 135-1729-4836"),
    ("DT-HN-01", "湖南湘通汽车电子配件有限公司", "华中", "谭振华 138-7315-0962"),
    ("DT-LN-01", "沈阳盛京汽车零部件销售有限公司", "东北", "孙立伟 139-4027-5813"),
)

COURIERS = (("顺丰速运", "SF", 13), ("中通快递", "75", 13), ("德邦快递", "DPK", 12))


def _password(username: str) -> str:
    return f"{username}-demo"


def _logins() -> list[tuple[str, str, list[str]]]:
    return [(username, _password(username), [role.value]) for username, _name, role in USERS]


# ---------------------------------------------------------------- which visits, in which states

# The state each unit's latest visit ends in. Five of the open ones are repeat returns.
FINAL_STATES: tuple[tuple[VisitState, int], ...] = (
    (S.RECEIVED, 2), (S.AWAITING_BENCH, 3), (S.IN_REPAIR, 3), (S.AWAITING_PARTS, 3),
    (S.PROGRAMMING, 2), (S.AWAITING_TEST, 2), (S.IN_TEST, 2), (S.PASSED, 2),
    (S.REFURBISHED, 8), (S.SHIPPED, 6), (S.SCRAPPED, 3), (S.RETURNED_UNREPAIRED, 4),
)
REPEAT_RETURNS = 5
SCRAP_VARIANTS = ("in_repair", "in_repair", "discontinued")
UNREPAIRED_VARIANTS = ("withdrawn", "damage", "out_of_warranty", "damage")


@dataclass
class _Step:
    to_state: VisitState | None  # None: the opening
    role: Role
    event: str
    gap: int  # working minutes since the step before
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class _UnitPlan:
    spec: _ModelSpec
    warranty: str = "in"  # wanted at the first visit: in, out, unknown
    serial: str = ""
    manufactured_on: date | None = None
    sold_on: date | None = None


@dataclass
class _VisitPlan:
    unit: _UnitPlan
    customer: str
    case: _Case
    steps: list[_Step]
    previous: _VisitPlan | None = None
    reason: str = ""
    start: int = 0  # working minute of the opening
    times: list[datetime] = field(default_factory=list)
    received: dict[str, Any] = field(default_factory=dict)  # the opening's details: waybill, warranty


class _WorkingTime:
    """Working time as one number line: minute n is the n-th working minute since ``first``.

    Monday to Saturday, 08:30-12:00 and 13:00-17:30 China time.
    """

    MORNING = 210
    DAY = 480

    def __init__(self, first: date, last: date) -> None:
        self.days = [first + timedelta(d) for d in range((last - first).days + 1)
                     if (first + timedelta(d)).weekday() != 6]

    @property
    def end(self) -> int:
        return len(self.days) * self.DAY - 1

    def minute_of(self, day: date) -> int:
        """The first working minute on or after ``day``."""
        return bisect_left(self.days, day) * self.DAY

    def day(self, minute: int) -> date:
        return self.days[minute // self.DAY]

    def at(self, minute: int, second: int = 0) -> datetime:
        day, m = divmod(minute, self.DAY)
        clock = 8 * 60 + 30 + m if m < self.MORNING else 13 * 60 + m - self.MORNING
        local = datetime.combine(self.days[day], time(), CHINA) + timedelta(minutes=clock, seconds=second)
        return local.astimezone(timezone.utc)


def _add_months(day: date, months: int) -> date:
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _warranty(unit: _UnitPlan, received_on: date) -> tuple[str, date | None]:
    """In, out or unknown, as intake decides it: from the sale date, else the manufacture date."""
    start = unit.sold_on or unit.manufactured_on
    if start is None:
        return "unknown", None
    until = _add_months(start, unit.spec.warranty_months)
    return ("in" if received_on <= until else "out"), until


def _waybill(rng: random.Random) -> tuple[str, str]:
    courier, prefix, digits = rng.choice(COURIERS)
    return courier, prefix + "".join(rng.choice("0123456789") for _ in range(digits))


class _Journeys:
    """The steps of one visit, from its opening to the state it is to end in."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def gap(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)

    def opening(self) -> list[_Step]:
        r = self.rng
        return [
            _Step(None, Role.CLERK, "opened", 0),
            _Step(S.AWAITING_BENCH, Role.CLERK, "to_bench", self.gap(10, 120),
                  {"shelf": f"待修区 {r.choice('ABC')}-{r.randint(1, 8):02d}"}),
            _Step(S.IN_REPAIR, Role.TECHNICIAN, "repair_started", self.gap(120, 2400),
                  {"bench": f"维修台 W-{r.randint(1, 6):02d}"}),
        ]

    def repair(self, spec: _ModelSpec, case: _Case, *, customer: str, parts: bool, programming: bool,
               test_fail: bool, test_abort: bool, ending: VisitState) -> list[_Step]:
        r = self.rng
        steps = self.opening()
        found = {"fault": case.fault, "cause": case.cause, "action": case.action}
        if parts:
            part = {"part": case.part, "qty": 1}
            steps += [
                _Step(S.AWAITING_PARTS, Role.TECHNICIAN, "parts_requested", self.gap(20, 240), dict(part)),
                _Step(S.IN_REPAIR, Role.MATERIALS, "parts_issued", self.gap(480, 3360), dict(part)),
            ]
            found["part"] = case.part
        if programming:
            why = {} if case.reflash else {"note": "固件升级至当前版本"}
            steps += [
                _Step(S.PROGRAMMING, Role.TECHNICIAN, "programming_started", self.gap(30, 600),
                      {**found, **why, "firmware": spec.firmware, "from_version": spec.old_firmware}),
                _Step(S.AWAITING_TEST, Role.TECHNICIAN, "programming_done", self.gap(8, 45),
                      {"firmware": spec.firmware, "result": "ok"}),
            ]
        else:
            steps.append(_Step(S.AWAITING_TEST, Role.TECHNICIAN, "repair_done", self.gap(30, 600), found))
        station = {"station": f"测试台 T-{r.randint(1, 3):02d}", "plan": f"{spec.code} 出货功能测试"}
        steps.append(_Step(S.IN_TEST, Role.TESTER, "test_started", self.gap(20, 960), dict(station)))
        if test_abort:
            steps += [
                _Step(S.AWAITING_TEST, Role.TESTER, "test_aborted", self.gap(3, 15), {"reason": "治具通信超时，重新排队"}),
                _Step(S.IN_TEST, Role.TESTER, "test_started", self.gap(10, 240), dict(station)),
            ]
        if test_fail:
            failure = r.choice(TEST_FAILURES[spec.family])
            steps += [
                _Step(S.IN_REPAIR, Role.TESTER, "test_failed", self.gap(15, 60),
                      {"step": failure.step, "measured": failure.measured}),
                _Step(S.AWAITING_TEST, Role.TECHNICIAN, "repair_done", self.gap(60, 900),
                      {"fault": failure.fault, "cause": "返工", "action": failure.action}),
                _Step(S.IN_TEST, Role.TESTER, "test_started", self.gap(30, 480), dict(station)),
            ]
        steps.append(_Step(S.PASSED, Role.TESTER, "test_passed", self.gap(25, 90),
                           {"steps_passed": TEST_STEPS[spec.family], "accessories_ok": True, "packaging_ok": True}))
        if ending is S.REFURBISHED:
            steps.append(_Step(S.REFURBISHED, Role.TECHNICIAN, "refurbished_into_stock", self.gap(20, 960),
                               {"location": f"翻新品库 R-{r.randint(1, 4):02d}-{r.randint(1, 12):02d}"}))
        elif ending is S.SHIPPED:
            courier, waybill = _waybill(r)
            steps.append(_Step(S.SHIPPED, Role.CLERK, "shipped", self.gap(60, 1440),
                               {"courier": courier, "waybill": waybill, "customer": customer}))
        return steps

    def scrap(self, variant: str, case: _Case) -> list[_Step]:
        steps = self.opening()
        if variant == "discontinued":
            steps.append(_Step(S.AWAITING_PARTS, Role.TECHNICIAN, "parts_requested", self.gap(20, 240),
                               {"part": case.part, "qty": 1}))
            steps.append(_Step(S.SCRAPPED, Role.SUPERVISOR, "scrapped", self.gap(960, 2400),
                               {"reason": DISCONTINUED, "part": case.part}))
        else:
            steps.append(_Step(S.SCRAPPED, Role.LEAD, "scrapped", self.gap(60, 960),
                               {"reason": self.rng.choice(SCRAP_REASONS)}))
        return steps

    def unrepaired(self, variant: str) -> list[_Step]:
        courier, waybill = _waybill(self.rng)
        back = {"courier": courier, "waybill": waybill}
        if variant == "withdrawn":
            return [_Step(None, Role.CLERK, "opened", 0),
                    _Step(S.RETURNED_UNREPAIRED, Role.CLERK, "returned_unrepaired", self.gap(60, 960),
                          {"reason": WITHDRAWN, **back})]
        if variant == "damage":
            damage, reason = self.rng.choice(DAMAGE)
            details = {"reason": reason, "damage": damage, "warranty": "void", **back}
        else:
            details = {"reason": OUT_OF_WARRANTY, "warranty": "out", **back}
        # The bench finds it; the dealer takes a few days to answer the quote.
        return [*self.opening(),
                _Step(S.RETURNED_UNREPAIRED, Role.CLERK, "returned_unrepaired", self.gap(480, 2400), details)]


def _truncate(steps: list[_Step], final: VisitState) -> list[_Step]:
    """The steps up to the last one that reaches ``final`` (the opening reaches received)."""
    last = max(i for i, s in enumerate(steps) if (s.to_state or S.RECEIVED) is final)
    return steps[: last + 1]


def _plan(today: date) -> tuple[_WorkingTime, list[_VisitPlan]]:
    """Every visit of the demo with its steps and their times; pure, the same for the same ``today``."""
    rng = random.Random(SEED)
    hours = _WorkingTime(today - timedelta(days=WINDOW_DAYS * 3), today - timedelta(days=1))
    journeys = _Journeys(rng)
    plans = _latest_visits(rng, journeys)
    _schedule(rng, hours, plans, window_start=hours.minute_of(today - timedelta(days=WINDOW_DAYS)))
    plans += _earlier_visits(rng, journeys, plans)
    for plan in plans:
        minute = plan.start
        for step in plan.steps:
            minute += step.gap
            plan.times.append(hours.at(minute, rng.randint(0, 59)))
    _date_units(rng, hours, plans)
    for plan in plans:
        courier, waybill = _waybill(rng)
        warranty, until = _warranty(plan.unit, hours.day(plan.start))
        # The same keys as intake writes when a clerk scans a unit out of a parcel.
        plan.received = {
            "parcel": f"{courier} {waybill}", "warranty": warranty,
            "warranty_until": until.isoformat() if until else None, "repeat_of": None,
            "accessories": rng.sample(plan.unit.spec.accessories, rng.choice((0, 0, 1, 2))),
        }
    return hours, plans


def _latest_visits(rng: random.Random, journeys: _Journeys) -> list[_VisitPlan]:
    """Each unit's latest visit, ending in its share of FINAL_STATES."""
    units = [_UnitPlan(spec) for spec in MODELS for _ in range(spec.units)]
    rng.shuffle(units)
    finals = [state for state, n in FINAL_STATES for _ in range(n)]
    scraps, unrepaired = iter(SCRAP_VARIANTS), iter(UNREPAIRED_VARIANTS)
    dealers = [code for code, _name, _region, _contact in CUSTOMERS]
    rng.shuffle(dealers)
    plans: list[_VisitPlan] = []
    for n, (unit, final) in enumerate(zip(units, finals, strict=True)):
        customer = dealers[n % len(dealers)]  # every dealer sends a few
        cases = CASES[unit.spec.family]
        with_parts = [c for c in cases if c.part]
        if final is S.SCRAPPED:
            variant = next(scraps)
            case = rng.choice(with_parts if variant == "discontinued" else cases)
            steps = journeys.scrap(variant, case)
        elif final is S.RETURNED_UNREPAIRED:
            variant = next(unrepaired)
            if variant == "out_of_warranty" and unit.spec.warranty_months > 24:
                variant = "damage"  # a 36-month unit sold within the demo's three years is still covered
            case = rng.choice(cases)
            unit.warranty = "out" if variant == "out_of_warranty" else "in"
            steps = journeys.unrepaired(variant)
        else:
            case = rng.choice(with_parts if final is S.AWAITING_PARTS else cases)
            steps = _truncate(journeys.repair(
                unit.spec, case, customer=customer,
                parts=final is S.AWAITING_PARTS or (case.part is not None and rng.random() < 0.6),
                programming=final is S.PROGRAMMING or case.reflash or rng.random() < 0.2,
                test_fail=rng.random() < 0.25, test_abort=rng.random() < 0.08,
                ending=final if final in (S.REFURBISHED, S.SHIPPED) else S.REFURBISHED,
            ), final)
            draw = rng.random()
            if draw < 0.08:
                unit.warranty = "unknown"
            elif draw < 0.22 and unit.spec.warranty_months <= 24:
                unit.warranty = "out"
        plans.append(_VisitPlan(unit, customer, case, steps, reason=case.symptom))
    return plans


def _schedule(rng: random.Random, hours: _WorkingTime, plans: list[_VisitPlan], window_start: int) -> None:
    """Closed visits anywhere in the window; open ones moved in the last few days."""
    for plan in plans:
        final = plan.steps[-1].to_state or S.RECEIVED
        total = sum(s.gap for s in plan.steps)
        if final in TERMINAL:
            latest = hours.end - total
            plan.start = min(latest, rng.randint(window_start, max(window_start, latest - hours.DAY)))
        else:
            recent = hours.DAY if final in (S.RECEIVED, S.AWAITING_BENCH) else 5 * hours.DAY
            plan.start = hours.end - rng.randint(5, recent) - total


def _earlier_visits(rng: random.Random, journeys: _Journeys, plans: list[_VisitPlan]) -> list[_VisitPlan]:
    """Repeat returns: units now open that came back weeks after an earlier visit shipped them repaired."""
    open_now = [p for p in plans if p.steps[-1].to_state not in TERMINAL | {S.PASSED}]
    earlier_visits = []
    for plan in rng.sample(open_now, REPEAT_RETURNS):
        case = plan.case
        steps = journeys.repair(plan.unit.spec, case, customer=plan.customer, parts=case.part is not None,
                                programming=case.reflash, test_fail=False, test_abort=False, ending=S.SHIPPED)
        earlier = _VisitPlan(plan.unit, plan.customer, case, steps, reason=case.symptom)
        earlier.start = plan.start - rng.randint(8, 20) * _WorkingTime.DAY - sum(s.gap for s in steps)
        plan.previous = earlier
        plan.reason = f"{case.symptom}（修复后再次出现）"
        plan.unit.warranty = "in"
        earlier_visits.append(earlier)
    return earlier_visits


def _date_units(rng: random.Random, hours: _WorkingTime, plans: list[_VisitPlan]) -> None:
    """Units made and sold before they first came back, their serials from their make date."""
    first_back: dict[int, tuple[date, _UnitPlan]] = {}
    for plan in plans:
        received = hours.day(plan.start)
        if id(plan.unit) not in first_back or received < first_back[id(plan.unit)][0]:
            first_back[id(plan.unit)] = (received, plan.unit)
    serials: set[str] = set()
    for received, unit in first_back.values():
        term = unit.spec.warranty_months * 30
        if unit.warranty == "in":
            unit.sold_on = received - timedelta(rng.randint(20, min(term - 15, 900)))
        elif unit.warranty == "out":
            unit.sold_on = received - timedelta(rng.randint(term + 20, term + 240))
        sold = unit.sold_on or received - timedelta(rng.randint(60, 600))
        made = sold - timedelta(rng.randint(10, 90))
        if unit.warranty != "unknown":  # else the factory records lost it: only the serial tells
            unit.manufactured_on = made
        while not unit.serial or unit.serial in serials:
            unit.serial = unit.spec.serial(made, rng.randint(1, 99999), rng.choice(LINE_LETTERS))
        serials.add(unit.serial)


# ---------------------------------------------------------------- loading

class _Clock:
    """The unit of work's clock, set by hand: every row the demo writes is dated by its step."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def _result(uow: UnitOfWork, created: bool) -> DemoResult:
    def count(table: type) -> int:
        return uow.session.scalar(select(func.count()).select_from(table))

    return DemoResult(created=created, users=_logins(), models=count(ProductModel),
                      customers=count(Customer), visits=count(Visit))


def _demo_present(uow: UnitOfWork) -> bool:
    """True when the demo is loaded; refuses a database that holds anything else."""
    names = set(uow.session.scalars(select(User.username)))
    if {username for username, _name, _role in USERS} <= names:
        return True
    if names or any(uow.session.scalar(select(func.count()).select_from(t)) for t in (ProductModel, Customer, Unit)):
        raise DomainError(
            "demo_needs_empty_database",
            "the demo loads only into an empty database; this one already holds data ({users} users)",
            users=len(names),
        )
    return False


def load_demo(db: Database, *, today: date | None = None) -> DemoResult:
    """Load the demo into an empty database; a database that has it already is left alone."""
    hours, plans = _plan(today or date.today())
    clock = _Clock(min(p.times[0] for p in plans))
    try:
        with db.uow(clock=clock) as uow:
            if _demo_present(uow):
                return _result(uow, created=False)
            _load(uow, clock, hours, plans)
            return _result(uow, created=True)
    except IntegrityError:
        # Another station loaded the demo at the same moment: theirs stands.
        with db.uow(readonly=True) as uow:
            if _demo_present(uow):
                return _result(uow, created=False)
        raise


def _load(uow: UnitOfWork, clock: _Clock, hours: _WorkingTime, plans: list[_VisitPlan]) -> None:
    # The department was set up the working day before the first unit in the demo came back.
    minute = max(0, (min(p.start for p in plans) // hours.DAY - 1) * hours.DAY)

    def tick() -> None:
        nonlocal minute
        clock.at = hours.at(minute)
        minute += 1

    users: dict[Role, User] = {}
    for username, display_name, role in USERS:  # the admin first, with no actor: the bootstrap
        tick()
        users[role] = services.add_user(uow, users.get(Role.ADMIN), username=username,
                                        password=_password(username), roles=[role], display_name=display_name)
    admin = users[Role.ADMIN]
    models: dict[str, ProductModel] = {}
    for spec in MODELS:
        tick()
        models[spec.code] = catalogue.add_model(
            uow, admin, code=spec.code, name=spec.name, family=spec.family, serial_pattern=spec.serial_pattern,
            warranty_months=spec.warranty_months, firmware_version=spec.firmware, accessories=list(spec.accessories),
        )
    customers: dict[str, Customer] = {}
    for code, name, region, contact in CUSTOMERS:
        tick()
        customers[code] = catalogue.add_customer(uow, admin, code=code, name=name, region=region, contact=contact)

    # Every step of every visit in the order it happened, so ledger ids follow time.
    steps = sorted((at, i, j) for i, plan in enumerate(plans) for j, at in enumerate(plan.times))
    units: dict[int, Unit] = {}
    visits: dict[int, Visit] = {}
    for at, i, j in steps:
        clock.at = at
        plan, step = plans[i], plans[i].steps[j]
        actor = users[step.role]
        if step.to_state is None:
            visits[id(plan)] = _open(uow, actor, plan, units, models, customers, visits)
        else:
            services.transition(uow, actor, visits[id(plan)], step.to_state, event=step.event, details=step.details)


def _open(uow: UnitOfWork, clerk: User, plan: _VisitPlan, units: dict[int, Unit], models: dict[str, ProductModel],
          customers: dict[str, Customer], visits: dict[int, Visit]) -> Visit:
    """The clerk receives the unit: the unit is registered on its first return only."""
    wanted = plan.unit
    unit = units.get(id(wanted))
    if unit is None:
        unit = Unit(serial=wanted.serial, model=models[wanted.spec.code], manufactured_on=wanted.manufactured_on,
                    sold_on=wanted.sold_on, created_at=uow.now())
        uow.session.add(unit)
        uow.session.flush()
        units[id(wanted)] = unit
    details = dict(plan.received)
    if plan.previous is not None:
        details["repeat_of"] = visits[id(plan.previous)].tag
    return services.open_visit(uow, clerk, unit, customer=customers[plan.customer], reason=plan.reason,
                               details=details)
