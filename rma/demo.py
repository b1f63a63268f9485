"""Demo data: a catalogue, dealers, one user per role, and a few dozen visits in every state.

``rma demo`` loads it into an empty database so that a newcomer finds a department at work:
courier parcels arriving and going out, units waiting at every station, units that left
(refurbished, shipped, scrapped, returned unrepaired) and units that came back again.

Everything a service exists for goes through it: users, models and dealers (core), return
reason codes and interception plans (the supervisor), every inbound parcel, every scanned
unit and every parcel closed (the logistics clerk, through intake, which decides warranty,
repeat returns and interceptions by itself), every unit that leaves (``ship_unit``), and
every test: the tester's runs are real runs of the test station's services (``start_run``,
``execute_run``) against the fixture simulator on a pty, unpaced, with the simulator's faults
where a unit fails (and back it goes to the bench) or the fixture's cable comes loose, and
incoming tests that show the dealer's complaint. The bench's steps are its services too: a
technician takes each unit, codes the complaint, books labour, records findings, marks the
interception alerts done and decides; human damage is reported with a photo and confirmed by the
lead, scrap proposed and approved. The stores' steps are the stores' services (requisitions,
issues, backorders, fitted and old parts, refurbished units into stock). The firmware registry
holds each model's old (retired) and current (released) firmware and a draft, uploaded and
released through the registry's services; every reflash at the bench is a real attempt of the
programming services (``reflash_unit``) against the programmer simulator on a pty, unpaced: the
chip holds the unit's old firmware first, one verify finds a weak flash cell (back to the bench,
then programmed), and a reflash leaves the firmware of the NAV-520 interception plan behind and
clears its alert by itself. The materials clerk runs an IC batch job (``rma.programming.demo_jobs``):
12 programmed W25Q16s from 16 blanks on the simulator, one socket off for its self-test and one
switched off after three weak flashes. The factory's shipment records, for which no service takes a unit of
work, are written as the units import would write them.

The clock is set by hand before each step (the run engine's too, through ``db.with_clock``),
backdating every row over the last two months of working hours. A fixed random seed makes the
demo the same every time for the same ``today`` (but for the simulators' temporary pty paths in
the test ledger). No label is queued or printed.
"""

from __future__ import annotations

import io
import random
from bisect import bisect_left
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from drivers.fixture import SerialFixture
from drivers.fixture_sim import FixtureSimulator
from drivers.programmer_sim import ProgrammerSimulator
from rma.bench import labour, photos
from rma.bench import parts as bench_parts
from rma.bench import services as bench
from rma.core import catalogue, services
from rma.core.ledger import record_audit
from rma.core.models import Customer, ProductModel, Role, Unit, User, Visit
from rma.core.states import TERMINAL, VisitState
from rma.db import Database, UnitOfWork
from rma.errors import DomainError
from rma.intake import services as intake
from rma.intake.models import Interception, InterceptionKind, Parcel, ReasonCode
from rma.inventory.demo import StoresDemo
from rma.inventory.demo_parts import ON_DEMAND
from rma.programming import registry
from rma.programming import services as programming
from rma.programming.demo_jobs import ic_job
from rma.programming.models import AttemptResult
from rma.test_station import services as tests
from rma.test_station.models import Outcome, TestRun, Verdict
from rma.test_station.plans import Step

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
    parcels: int = 0
    test_runs: int = 0


# ---------------------------------------------------------------- the catalogue

# The dealer's complaint as the clerk ticks it at intake (the reason-code catalogue).
REASONS: tuple[tuple[str, str], ...] = (
    ("NOPWR", "不开机"),
    ("FLICKER", "屏幕闪烁"),
    ("TOUCH", "触摸失灵"),
    ("NOGPS", "GPS无定位"),
    ("NOSOUND", "无声音"),
    ("REBOOT", "反复重启"),
    ("CAMBLK", "摄像头黑屏"),
    ("CANERR", "CAN通讯故障"),
    ("BTN", "按键失灵"),
    ("SDCARD", "存储卡/地图卡报错"),
    ("OTHER", "其他"),
)
REASON_TEXT = dict(REASONS)


@dataclass(frozen=True)
class _Case:
    """A failure mode: what the dealer reports, what the bench finds, and how it is fixed."""

    symptom: str  # the dealer's words
    reason: str  # the reason code the clerk ticks for it
    fault: str
    cause: str
    action: str
    part: str | None = None  # a part that must come from stores
    reflash: bool = False  # the fix is reprogramming
    reproduces: str | None = None  # the fixture simulator's fault that shows it at the incoming test


@dataclass(frozen=True)
class _TestFailure:
    """A repaired unit that fails its outgoing test: the fixture's fault, what the bench then finds and does."""

    simulated: str  # a fault of drivers.fixture_sim
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
        ("主机线束", "USB延长线", "GPS天线", "麦克风", "安装支架×2", "螺丝包（M5×8 ×6）", "用户手册"), 10,
    ),
    _ModelSpec(
        "HU-6200", "9英寸车机 HU-6200（带CAN协议盒）", "head_unit", r"^HU62[0-9]{2}[1-9A-C][0-9]{6}$", "HU62",
        False, 24, "2.8.4", "2.7.11",
        ("主机线束", "CAN协议盒", "装饰面框", "GPS天线", "麦克风", "收音天线转接线", "螺丝包", "用户手册"), 8,
    ),
    _ModelSpec(
        "NAV-520", "7英寸导航模块 NAV-520", "navigation", r"^NV52[0-9]{2}[1-9A-C][0-9]{6}$", "NV52",
        False, 24, "5.0.3", "4.9.8",
        ("电源线束", "GPS天线", "32GB地图卡（microSD）", "安装支架", "螺丝包", "用户手册"), 7,
    ),
    _ModelSpec(
        "DC-220", "前后双录行车记录仪 DC-220", "dash_cam", r"^DC22[0-9]{2}[1-9A-C][A-HJ-NP-Z][0-9]{5}$", "DC22",
        True, 12, "1.6.2", "1.5.8",
        ("吸盘支架", "3M静电贴", "降压线（12V转5V）", "后摄像头", "后摄延长线 6 m", "32GB microSD卡", "撬线棒",
         "用户手册"), 9,
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
SPECS = {spec.code: spec for spec in MODELS}
# What the line flashed before ``old_firmware``: units made longer ago than FIRMWARE_AGES[1] days carry it.
OLDEST_FIRMWARE = {"HU-8800": "3.0.22", "HU-6200": "2.6.5", "NAV-520": "4.8.12", "DC-220": "1.4.6",
                   "IC-700": "4.1.3", "GW-310": "1.10.7"}
FIRMWARE_AGES = (300, 480)  # days: newer than the first carry the current firmware, then old, then oldest

CASES: dict[str, tuple[_Case, ...]] = {
    "head_unit": (
        _Case("不开机", "NOPWR", "电源管理IC击穿", "电源浪涌", "更换电源管理IC", "电源管理IC", reproduces="dead_rail"),
        _Case("屏幕闪烁", "FLICKER", "LCD排线松动", "装配不良", "重新压接LCD排线并点胶固定"),
        _Case("触摸失灵", "TOUCH", "触摸屏控制IC损坏", "元器件失效", "更换触摸屏总成", "触摸屏总成"),
        _Case("左声道无声音", "NOSOUND", "功放IC左声道输出级损坏", "元器件失效", "更换功放IC", "功放IC TDA7851",
              reproduces="dead_audio"),
        _Case("反复重启，卡在开机LOGO", "REBOOT", "eMMC系统分区损坏", "软件异常", "重新烧录系统固件", reflash=True),
        _Case("蓝牙无法连接手机", "OTHER", "蓝牙模块虚焊", "焊接不良", "补焊蓝牙模块"),
        _Case("CAN通信故障，方向盘按键无效", "CANERR", "CAN收发器损坏", "线束短路冲击", "更换CAN收发器",
              "CAN收发器 TJA1042"),
        _Case("倒车影像黑屏", "CAMBLK", "视频解码IC虚焊", "焊接不良", "补焊视频解码IC"),
        _Case("面板按键失灵，音量键无反应", "BTN", "按键板FPC排线断裂", "装配应力", "更换按键板FPC", "按键板FPC"),
    ),
    "navigation": (
        _Case("GPS无法定位", "NOGPS", "GPS模块射频前端损坏", "静电损伤", "更换GPS模块", "GPS模块", reproduces="no_gps_fix"),
        _Case("提示地图卡读取失败", "SDCARD", "TF卡座弹片变形", "插拔磨损", "更换TF卡座", "TF卡座"),
        _Case("开机卡在LOGO界面", "REBOOT", "引导程序损坏", "升级中断电", "重新烧录引导程序及系统", reflash=True),
        _Case("触摸漂移", "TOUCH", "触摸校准数据丢失", "软件异常", "重新烧录并校准触摸", reflash=True),
    ),
    "dash_cam": (
        _Case("后摄像头黑屏", "CAMBLK", "后摄接口针脚氧化", "接插件受潮", "更换后摄接口座", "后摄接口座"),
        _Case("前录画面模糊，夜间噪点大", "OTHER", "图像传感器损坏", "元器件失效", "更换镜头模组", "镜头模组"),
        _Case("熄火后最后一段录像丢失", "OTHER", "超级电容鼓包", "高温老化", "更换超级电容", "超级电容 5.5V 1F"),
        _Case("提示TF卡错误，录像自动停止", "SDCARD", "固件录像参数缺陷", "软件缺陷", "升级固件至当前版本", reflash=True),
        _Case("WiFi无法连接手机APP", "OTHER", "WiFi天线焊点脱落", "焊接不良", "补焊WiFi天线"),
        _Case("不开机", "NOPWR", "降压电路保险电阻烧断", "电源浪涌", "更换保险电阻"),
    ),
    "cluster": (
        _Case("仪表黑屏，背光不亮", "NOPWR", "背光驱动IC损坏", "元器件失效", "更换背光驱动IC", "背光驱动IC"),
        _Case("液晶屏花屏", "FLICKER", "LCD屏内部线路损坏", "元器件失效", "更换LCD屏", "LCD屏 12.3英寸"),
        _Case("CAN通信故障，多个故障灯常亮", "CANERR", "CAN收发器损坏", "线束短路冲击", "更换CAN收发器",
              "CAN收发器 TJA1042"),
        _Case("里程显示异常", "OTHER", "EEPROM里程数据校验错误", "软件异常", "重新烧录程序并恢复里程", reflash=True),
    ),
    "ecu": (
        _Case("CAN通信故障（U0100 与ECM失去通讯）", "CANERR", "CAN收发器损坏", "线束短路冲击", "更换CAN收发器",
              "CAN收发器 TJA1043"),
        _Case("诊断仪无法连接网关", "CANERR", "MCU程序损坏", "刷写中断", "重新烧录MCU程序", reflash=True),
        _Case("静态电流偏大导致亏电", "OTHER", "电源滤波电容漏电", "元器件老化", "更换滤波电容"),
        _Case("偶发通讯中断", "CANERR", "连接器端子退针", "装配不良", "更换连接器端子", "连接器端子"),
    ),
}

# Faults the outgoing test finds after a repair (a fixture simulator fault each), and the rework.
TEST_FAILURES: dict[str, tuple[_TestFailure, ...]] = {
    "head_unit": (
        _TestFailure("dead_audio", "功放左前声道输出电容虚焊", "补焊输出电容"),
        _TestFailure("low_rail", "5V稳压输出电容失效", "更换5V输出电容"),
        _TestFailure("no_gps_fix", "GPS天线座接触不良", "更换GPS天线座"),
    ),
    "navigation": (
        _TestFailure("no_gps_fix", "GPS天线座接触不良", "更换天线座"),
        _TestFailure("dead_audio", "语音功放输出端虚焊", "补焊功放输出端"),
    ),
    "dash_cam": (
        _TestFailure("low_rail", "降压电路输出电容失效", "更换输出电容"),
        _TestFailure("no_gps_fix", "GPS天线馈线脱焊", "补焊天线馈线"),
    ),
    "cluster": (_TestFailure("dead_rail", "3.3V LDO虚焊", "补焊3.3V LDO"),),
    "ecu": (
        _TestFailure("dead_rail", "3.3V稳压芯片损坏", "更换3.3V稳压芯片"),
        _TestFailure("low_rail", "5V滤波电容漏电", "更换滤波电容"),
    ),
}
# How the bench codes each failure mode: the complaint (condition, symptom) and the finding
# (section, designator, defect, repair), keyed by the fault the bench finds.
CASE_CODES: dict[str, tuple[str, str, str, str | None, str, str]] = {
    "电源管理IC击穿": ("1", "101", "PWR", "U12", "D03", "R01"),
    "LCD排线松动": ("5", "202", "LCD", "J3", "D09", "R08"),
    "触摸屏控制IC损坏": ("1", "301", "TP", "U40", "D08", "R07"),
    "功放IC左声道输出级损坏": ("1", "402", "AMP", "U30", "D02", "R01"),
    "eMMC系统分区损坏": ("2", "104", "MEM", "U8", "D07", "R05"),
    "蓝牙模块虚焊": ("2", "703", "RF", "U22", "D01", "R02"),
    "CAN收发器损坏": ("1", "701", "CAN", "U15", "D03", "R01"),
    "视频解码IC虚焊": ("3", "601", "MB", "U18", "D01", "R02"),
    "按键板FPC排线断裂": ("1", "303", "KEY", "J7", "D10", "R09"),
    "GPS模块射频前端损坏": ("1", "501", "GNSS", "U10", "D14", "R07"),
    "TF卡座弹片变形": ("2", "503", "MEM", "J4", "D06", "R09"),
    "引导程序损坏": ("1", "103", "FW", None, "D07", "R05"),
    "触摸校准数据丢失": ("2", "302", "TP", None, "D15", "R06"),
    "后摄接口针脚氧化": ("9", "601", "CON", "J9", "D05", "R09"),
    "图像传感器损坏": ("1", "602", "CAM", "U1", "D08", "R07"),
    "超级电容鼓包": ("3", "604", "PWR", "C21", "D13", "R01"),
    "固件录像参数缺陷": ("2", "603", "FW", None, "D18", "R05"),
    "WiFi天线焊点脱落": ("2", "704", "RF", "ANT1", "D01", "R02"),
    "降压电路保险电阻烧断": ("6", "101", "PWR", "R3", "D02", "R01"),
    "背光驱动IC损坏": ("1", "201", "MB", "U6", "D08", "R01"),
    "LCD屏内部线路损坏": ("3", "203", "LCD", None, "D04", "R07"),
    "EEPROM里程数据校验错误": ("1", "801", "MEM", "U9", "D15", "R05"),
    "MCU程序损坏": ("1", "702", "MCU", "U1", "D07", "R05"),
    "电源滤波电容漏电": ("1", "105", "PWR", "C14", "D08", "R01"),
    "连接器端子退针": ("5", "706", "CON", "J1", "D11", "R09"),
}
# The findings of a rework, keyed by what the bench finds after the failed test.
FAILURE_CODES: dict[str, tuple[str, str | None, str, str]] = {
    "功放左前声道输出电容虚焊": ("AMP", "C215", "D01", "R02"),
    "5V稳压输出电容失效": ("PWR", "C88", "D08", "R01"),
    "GPS天线座接触不良": ("CON", "J12", "D09", "R09"),
    "语音功放输出端虚焊": ("AMP", "U31", "D01", "R02"),
    "降压电路输出电容失效": ("PWR", "C12", "D08", "R01"),
    "GPS天线馈线脱焊": ("GNSS", "J2", "D01", "R02"),
    "3.3V LDO虚焊": ("PWR", "U5", "D01", "R02"),
    "3.3V稳压芯片损坏": ("PWR", "U3", "D02", "R01"),
    "5V滤波电容漏电": ("PWR", "C7", "D08", "R01"),
}
TEST_STATIONS = ("test-1", "test-2", "test-3")

# The firmware registry: each model's old and current firmware (the old one retired once the current
# one is out), and a draft the lead has not released yet. Images are small, so the demo stays fast;
# an ECU's is for its MCU's flash, the others' for an SPI flash.
FLASH, MCU = ("W25Q16", "EF4015", 64), ("STM32F103CB", "0410", 32)  # memory, chip ID, image KiB
RELEASE_NOTES = {"NAV-520": "修复冷启动定位偶发失败（ECN-2317）", "DC-220": "修正录像参数，TF卡兼容性改进"}
DRAFT_FIRMWARE = ("HU-8800", "3.3.0-rc1", "新增无线CarPlay（试产验证中）")
PROGRAMMING_STATIONS = ("bench-1", "bench-2")
WEAK_FLASH = "verify_mismatch_at=0x1F3A@3"  # the programmer simulator's socket 3 holds a flash with a weak cell
PROGRAMMER_SOCKETS = {1: "W25Q16", 2: "W25Q16", 3: "W25Q16", 4: "STM32F103CB"}
INCOMING_TESTS = 0.15  # share of the other units the tester checks on the fixture before the bench
PROMPT_YES = "yes"  # the tester's answer to the plans' yes/no prompts in the demo
TEST_ENDS = ("test_passed", "test_failed", "test_aborted")  # the run started at the step before is carried out

SCRAP_REASONS = ("主板进水腐蚀严重，维修成本高于新品", "主板多处烧毁碳化，无维修价值")
DISCONTINUED = "所需备件已停产，无替代料，主管批准报废"
DAMAGE = (
    ("进水", "人为损坏：主机进水，保修失效，经销商不同意付费维修"),
    ("撞击", "人为损坏：外壳撞击变形，保修失效，经销商不同意付费维修"),
    ("封条破损", "防拆封条破损，已被第三方拆修，不予保修，经销商要求原样退回"),
)
# Human damage as the technician reports it: the kind, what the photos show, the finding.
DAMAGE_FOUND = {
    "进水": ("water", "主板多处水渍腐蚀，接插件有锈迹", ("MB", None, "D05", "R10")),
    "撞击": ("impact", "外壳一角撞击变形，屏幕边框开裂", ("HSG", None, "D06", "R10")),
    "封条破损": ("seal", "防拆封条破损，螺丝有拆卸痕迹，内部有非原厂焊点", ("HSG", None, "D99", "R10")),
}
SCRAP_FOUND = {  # a scrap reason, and the finding behind it
    "主板进水腐蚀严重，维修成本高于新品": ("MB", None, "D05", "R10"),
    "主板多处烧毁碳化，无维修价值": ("MB", None, "D02", "R10"),
}
ALERT_DONE = {  # what the technician writes when the interception's action is done
    "serial_range": "已更换电源IC U12（新批次），按ECN-2291回写拦截记录",
    "made_range": "已更换超级电容C21，按ECN-2304回写拦截记录",
    "firmware": "固件已升级至当前版本，GPS冷启动复测通过，按ECN-2317回写拦截记录",
}
OUT_OF_WARRANTY = "超出保修期，经销商不接受维修报价"
WITHDRAWN = "经销商误寄（车主未申请索赔），要求原样退回"
REPEATED = "修复后再次出现"

# Interception plans (拦截计划) the supervisor keeps: a serial range, a manufacture-date range and
# a firmware version, each on one model. The demo picks the ranges around units that come back,
# so that intake raises them.
SERIAL_PLAN = ("HU-8800", "该序列号段电源IC U12（来料批次 D2406B）早期失效：无论返修原因，一律更换电源IC U12"
                          "（ECN-2291），并回写拦截记录")
MADE_PLAN = ("DC-220", "该生产日期段超级电容C21（供应商批次 2405-B）容量衰减：更换超级电容C21（ECN-2304），"
                       "并回写拦截记录")
FIRMWARE_PLAN = ("NAV-520", "固件 {old} 冷启动定位偶发失败：升级固件至 {new}（ECN-2317），复测GPS冷启动，"
                            "并回写拦截记录")

# ---------------------------------------------------------------- people, dealers, couriers

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
DISTRIBUTORS = tuple(code for code, *_ in CUSTOMERS if code.startswith("DT-"))

# Courier codes as the clerk types them, with the company each stands for.
COURIERS: dict[str, str] = {"SF": "顺丰速运", "ZTO": "中通快递", "YTO": "圆通速递", "JD": "京东物流", "EMS": "中国邮政EMS"}
# Dealers send with whatever they use; the depot ships on its monthly SF/JD/EMS accounts.
INBOUND_COURIERS = (("SF", 45), ("ZTO", 20), ("YTO", 15), ("JD", 12), ("EMS", 8))
OUTBOUND_COURIERS = (("SF", 70), ("JD", 20), ("EMS", 10))
COST_BASE = {"SF": (22, 30), "JD": (20, 28), "EMS": (18, 26), "ZTO": (18, 23), "YTO": (18, 23)}  # yuan, one unit


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _waybill(rng: random.Random, courier: str, used: set[tuple[str, str]]) -> str:
    """A waybill number in the courier's own format, not used before."""
    while (courier, number := _waybill_number(rng, courier)) in used:
        pass
    used.add((courier, number))
    return number


def _waybill_number(rng: random.Random, courier: str) -> str:
    if courier == "SF":
        return "SF1" + _digits(rng, 12)  # SF + 13 digits
    if courier == "ZTO":
        return rng.choice(("73", "75", "78")) + _digits(rng, 12)  # 14 digits
    if courier == "YTO":
        return "YT" + rng.choice("6789") + _digits(rng, 12)  # YT + 13 digits
    if courier == "JD":
        return "JD00" + _digits(rng, 11)  # JD + 13 digits
    return rng.choice(("11", "98", "10")) + _digits(rng, 11)  # EMS domestic: 13 digits


def _courier(rng: random.Random, weights: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([c for c, _ in weights], [w for _, w in weights])[0]


def _cost(rng: random.Random, courier: str, units: int) -> str:
    low, high = COST_BASE[courier]
    yuan = min(45, rng.randint(low, high) + 6 * (units - 1))
    return f"{yuan}.{rng.choice(('00', '00', '50'))}"


def _password(username: str) -> str:
    return f"{username}-demo"


def _logins() -> list[tuple[str, str, list[str]]]:
    return [(username, _password(username), [role.value]) for username, _name, role in USERS]


# ---------------------------------------------------------------- which visits, in which states

# The state each unit's latest visit ends in. Five of the open ones are repeat returns. One unit
# of every model waits for the test station, so that each plan can be tried on the simulator.
FINAL_STATES: tuple[tuple[VisitState, int], ...] = (
    (S.RECEIVED, 3), (S.AWAITING_BENCH, 3), (S.IN_REPAIR, 3), (S.AWAITING_PARTS, 3),
    (S.PROGRAMMING, 2), (S.AWAITING_TEST, len(MODELS)), (S.IN_TEST, 2), (S.PASSED, 2),
    (S.REFURBISHED, 7), (S.SHIPPED, 6), (S.SCRAPPED, 3), (S.RETURNED_UNREPAIRED, 4),
)
REPEAT_RETURNS = 5
UNKNOWN_UNITS = 3  # not in the factory's shipment records: warranty unknown
OUT_UNITS = 4  # sold longer ago than the warranty term (besides the out-of-warranty refusal)
MADE_ONLY_UNITS = 2  # the records know when they were made, not when they were shipped
SCRAP_VARIANTS = ("in_repair", "in_repair", "discontinued")
UNREPAIRED_VARIANTS = ("withdrawn", "damage", "out_of_warranty", "damage")
# Parcels of several units from one dealer: (units scanned, units on the dealer's delivery note).
MULTI_UNIT_PARCELS = ((4, 4), (3, 3), (3, 3), (2, 3), (2, 1), (2, 2))  # one short, one over
EXCHANGE_UNITS = 2  # refurbished units sent to dealers as exchange units
BENCH_FINDINGS = ("repair_done", "sent_to_programming")  # the steps where the bench records what it found
# The steps the stores' services carry out (rma.inventory.demo).
STORES_EVENTS = ("parts_requested", "parts_backordered", "parts_issued", "part_fitted", "refurbished_into_stock")
REFLASHES = ("programming_done", "programming_failed")  # the bench's reflash, through the programming services


@dataclass
class _Step:
    """One step of a visit. The test station's steps are runs of the real engine against the fixture
    simulator: ``test_started`` starts a run, the next step (``test_passed``, ``test_failed`` or
    ``test_aborted``) is that run carried out, ``incoming_test`` is a whole incoming run."""

    to_state: VisitState | None  # None: the opening
    role: Role
    event: str
    gap: int  # working minutes since the step before
    details: dict[str, Any] = field(default_factory=dict)
    faults: tuple[str, ...] = ()  # a test run: the fixture simulator's faults


@dataclass
class _UnitPlan:
    spec: _ModelSpec
    warranty: str = "in"  # wanted at the first visit: in, out, unknown
    serial: str = ""
    manufactured_on: date | None = None
    sold_on: date | None = None
    made_only: bool = False  # the records lost the ship date
    shipped_to: str | None = None  # from the factory records
    firmware: str | None = None

    @property
    def on_record(self) -> bool:
        """The factory's shipment records know this unit."""
        return self.warranty != "unknown"


@dataclass
class _VisitPlan:
    unit: _UnitPlan
    case: _Case
    steps: list[_Step]
    customer: str = ""
    previous: _VisitPlan | None = None
    reason_text: str | None = None
    accessories: list[str] = field(default_factory=list)  # what came in the box
    parcel: _ParcelPlan | None = None
    shipment: _Shipment | None = None  # how the unit left, when its visit ends with it leaving
    minutes: list[int] = field(default_factory=list)  # working minute of each step
    times: list[datetime] = field(default_factory=list)

    @property
    def final(self) -> VisitState:
        return self.steps[-1].to_state or S.RECEIVED


@dataclass
class _ParcelPlan:
    """An inbound courier parcel from one dealer: its units are scanned, then it is closed."""

    customer: str
    visits: list[_VisitPlan]
    declared: int
    closed: bool = True
    courier: str = ""
    waybill: str = ""
    cost: str = ""
    start: int = 0  # working minute it arrives
    arrived: datetime | None = None
    closed_at: datetime | None = None


@dataclass
class _Shipment:
    """An outbound parcel: repaired units back to their sender, or a refurbished exchange unit."""

    customer: str
    courier: str
    waybill: str
    cost: str
    visits: list[_VisitPlan]
    minute: int
    at: datetime
    exchange: bool = False  # a refurbished unit from stock, to the named dealer


@dataclass(frozen=True)
class _InterceptionPlan:
    model: str
    action: str
    serial_from: str | None = None
    serial_to: str | None = None
    made_from: date | None = None
    made_to: date | None = None
    firmware: str | None = None

    def matches(self, unit: _UnitPlan) -> bool:
        """As intake matches a unit against the plan."""
        if unit.spec.code != self.model:
            return False
        if self.serial_from:
            return len(unit.serial) == len(self.serial_from) and self.serial_from <= unit.serial <= self.serial_to
        if self.made_from:
            return unit.on_record and self.made_from <= unit.manufactured_on <= self.made_to
        return unit.on_record and unit.firmware == self.firmware


@dataclass
class _Demo:
    hours: _WorkingTime
    visits: list[_VisitPlan]
    parcels: list[_ParcelPlan]
    shipments: list[_Shipment]
    interceptions: list[_InterceptionPlan]
    today: date = date.min

    @property
    def units(self) -> list[_UnitPlan]:
        return list({id(v.unit): v.unit for v in self.visits}.values())


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


class _Journeys:
    """The steps of one visit, from its opening to the state it is to end in.

    Every visit opens with its scan at intake and goes to the bench queue when its parcel is
    closed; the times of those two steps are the parcel's, set later.
    """

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def gap(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)

    def arrival(self) -> list[_Step]:
        return [_Step(None, Role.CLERK, "opened", 0), _Step(S.AWAITING_BENCH, Role.CLERK, "to_bench", 0)]

    def opening(self, case: _Case) -> list[_Step]:
        r = self.rng
        steps = self.arrival()
        if case.reproduces or r.random() < INCOMING_TESTS:  # the fixture shows the complaint, or finds nothing
            steps.append(_Step(S.AWAITING_BENCH, Role.TESTER, "incoming_test", self.gap(30, 240),
                               {"station": r.choice(TEST_STATIONS)}, (case.reproduces,) if case.reproduces else ()))
        return [*steps, _Step(S.IN_REPAIR, Role.TECHNICIAN, "repair_started", self.gap(60, 2400))]

    def parts(self, case: _Case) -> list[_Step]:
        """The technician asks for the case's part; the stores issue it from a bin, or backorder a part
        they do not keep and issue it when it comes (the unit waits meanwhile); it is fitted."""
        steps = [_Step(S.IN_REPAIR, Role.TECHNICIAN, "parts_requested", self.gap(20, 240))]
        if case.part in ON_DEMAND:
            steps += [_Step(S.AWAITING_PARTS, Role.MATERIALS, "parts_backordered", self.gap(5, 60)),
                      _Step(S.IN_REPAIR, Role.MATERIALS, "parts_issued", self.gap(480, 3360))]
        else:
            steps.append(_Step(S.IN_REPAIR, Role.MATERIALS, "parts_issued", self.gap(10, 120)))
        return [*steps, _Step(S.IN_REPAIR, Role.TECHNICIAN, "part_fitted", self.gap(20, 180))]

    def repair(self, spec: _ModelSpec, case: _Case, *, parts: bool, programming: bool,
               test_fail: bool, test_abort: bool, ending: VisitState, reflash_fail: bool = False) -> list[_Step]:
        r = self.rng
        steps = self.opening(case)
        found = {"finding": CASE_CODES[case.fault][2:], "note": case.fault}
        if parts:
            steps += self.parts(case)
            found["part"] = case.part
        if programming:
            why = {} if case.reflash else {"note": "固件升级至当前版本"}
            steps.append(_Step(S.PROGRAMMING, Role.TECHNICIAN, "sent_to_programming", self.gap(30, 600),
                               {**found, **why}))
            if reflash_fail:  # the verify finds a weak cell of the flash: back to the bench, then again
                # (fixed gaps: the random draws of every other visit stay as they were)
                steps += [
                    _Step(S.IN_REPAIR, Role.TECHNICIAN, "programming_failed", 25, faults=(WEAK_FLASH,)),
                    _Step(S.PROGRAMMING, Role.TECHNICIAN, "sent_to_programming", 140,
                          {"finding": ("MEM", "U8", "D08", "R07"), "note": "SPI Flash芯片局部坏块，更换后重新烧录"}),
                ]
            steps.append(_Step(S.AWAITING_TEST, Role.TECHNICIAN, "programming_done", self.gap(8, 45)))
        else:
            steps.append(_Step(S.AWAITING_TEST, Role.TECHNICIAN, "repair_done", self.gap(30, 600), found))
        station = {"station": r.choice(TEST_STATIONS)}
        steps.append(_Step(S.IN_TEST, Role.TESTER, "test_started", self.gap(20, 960), dict(station)))
        if test_abort:  # the fixture's USB cable came loose mid-run: the run errs, the unit waits again
            steps += [
                _Step(S.AWAITING_TEST, Role.TESTER, "test_aborted", self.gap(3, 15),
                      faults=(f"disconnect_after={r.randint(3, 9)}",)),
                _Step(S.IN_TEST, Role.TESTER, "test_started", self.gap(10, 240), dict(station)),
            ]
        if test_fail:
            failure = r.choice(TEST_FAILURES[spec.family])
            steps += [
                _Step(S.IN_REPAIR, Role.TESTER, "test_failed", self.gap(15, 60), faults=(failure.simulated,)),
                _Step(S.AWAITING_TEST, Role.TECHNICIAN, "repair_done", self.gap(60, 900),
                      {"finding": FAILURE_CODES[failure.fault], "note": f"返工：{failure.fault}，{failure.action}"}),
                _Step(S.IN_TEST, Role.TESTER, "test_started", self.gap(30, 480), dict(station)),
            ]
        steps.append(_Step(S.PASSED, Role.TESTER, "test_passed", self.gap(25, 90)))
        if ending is S.REFURBISHED:  # through the stores: into the refurbished-unit store
            steps.append(_Step(S.REFURBISHED, Role.TECHNICIAN, "refurbished_into_stock", self.gap(20, 960)))
        elif ending is S.SHIPPED:  # through ship_unit, which writes the courier and waybill
            steps.append(_Step(S.SHIPPED, Role.CLERK, "shipped", self.gap(60, 1440)))
        return steps

    def scrap(self, variant: str, case: _Case) -> list[_Step]:
        steps = self.opening(case)
        if variant == "discontinued":  # the part never comes: the technician proposes scrap, the supervisor approves
            waiting = self.parts(case)[:2]  # asked for, and backordered (or issued, then found wanting)
            steps += [
                *waiting,
                _Step(waiting[-1].to_state, Role.TECHNICIAN, "scrap_proposed", self.gap(960, 2400),
                      {"reason": DISCONTINUED, "finding": CASE_CODES[case.fault][2:5] + ("R10",), "note": case.fault}),
                _Step(S.SCRAPPED, Role.SUPERVISOR, "scrapped", self.gap(30, 480)),
            ]
        else:
            reason = self.rng.choice(SCRAP_REASONS)
            steps += [
                _Step(S.IN_REPAIR, Role.TECHNICIAN, "scrap_proposed", self.gap(60, 960),
                      {"reason": reason, "finding": SCRAP_FOUND[reason], "note": reason}),
                _Step(S.SCRAPPED, Role.LEAD, "scrapped", self.gap(30, 480)),
            ]
        return steps

    def unrepaired(self, variant: str, case: _Case) -> list[_Step]:
        # The courier and waybill it goes back with are added when its shipment is planned.
        if variant == "withdrawn":  # the dealer calls before the bench has started on it
            return [*self.arrival(),
                    _Step(S.RETURNED_UNREPAIRED, Role.CLERK, "returned_unrepaired", self.gap(60, 960),
                          {"reason": WITHDRAWN})]
        if variant == "damage":  # the technician reports it with photos, the lead confirms: out of warranty
            damage, reason = self.rng.choice(DAMAGE)
            kind, seen, finding = DAMAGE_FOUND[damage]
            return [*self.opening(case),
                    _Step(S.IN_REPAIR, Role.TECHNICIAN, "damage_reported", self.gap(30, 240),
                          {"damage_kind": kind, "reason": seen, "finding": finding, "note": seen}),
                    _Step(S.IN_REPAIR, Role.LEAD, "damage_confirmed", self.gap(30, 480)),
                    # the dealer takes a few days to answer the quote
                    _Step(S.RETURNED_UNREPAIRED, Role.TECHNICIAN, "returned_unrepaired", self.gap(480, 2400),
                          {"reason": reason})]
        # The bench finds the fault; out of warranty, the dealer does not accept the quote.
        return [*self.opening(case),
                _Step(S.RETURNED_UNREPAIRED, Role.TECHNICIAN, "returned_unrepaired", self.gap(480, 2400),
                      {"reason": OUT_OF_WARRANTY, "finding": CASE_CODES[case.fault][2:5] + ("R10",),
                       "note": case.fault})]


def _truncate(steps: list[_Step], final: VisitState) -> list[_Step]:
    """The steps up to the last one that reaches ``final`` (the opening reaches received)."""
    last = max(i for i, s in enumerate(steps) if (s.to_state or S.RECEIVED) is final)
    return steps[: last + 1]


# ---------------------------------------------------------------- the plan

def _plan(today: date) -> _Demo:
    """Every parcel, visit and shipment of the demo with its times; pure, the same for the same ``today``."""
    rng = random.Random(SEED)
    hours = _WorkingTime(today - timedelta(days=WINDOW_DAYS * 3), today - timedelta(days=1))
    journeys = _Journeys(rng)
    latest = _latest_visits(rng, journeys)
    _earlier_visits(rng, journeys, latest)
    _choose_warranty(rng, latest)
    parcels = _pack(rng, latest)
    _schedule(rng, hours, parcels, window_start=hours.minute_of(today - timedelta(days=WINDOW_DAYS)))
    parcels += _pack_earlier(rng, latest)
    parcels.sort(key=lambda p: p.start)
    waybills: set[tuple[str, str]] = set()
    for parcel in parcels:
        parcel.courier = _courier(rng, INBOUND_COURIERS)
        parcel.waybill = _waybill(rng, parcel.courier, waybills)
        parcel.cost = _cost(rng, parcel.courier, max(parcel.declared, len(parcel.visits)))
    _time(rng, hours, parcels)
    visits = [v for p in parcels for v in p.visits]
    _date_units(rng, hours, visits, today)
    shipments = _ship(rng, hours, parcels, latest, waybills)
    interceptions = _intercept(rng, latest)
    for visit in visits:
        _what_came_in(rng, visit)
    return _Demo(hours, visits, parcels, shipments, interceptions, today)


def _latest_visits(rng: random.Random, journeys: _Journeys) -> list[_VisitPlan]:
    """Each unit's latest visit, ending in its share of FINAL_STATES."""
    units = [_UnitPlan(spec) for spec in MODELS for _ in range(spec.units)]
    rng.shuffle(units)
    waiting = {id(next(u for u in units if u.spec is spec)) for spec in MODELS}  # one of each model awaits test
    finals = [state for state, n in FINAL_STATES for _ in range(n)]
    for _ in waiting:
        finals.remove(S.AWAITING_TEST)
    if len(finals) != len(units) - len(waiting):
        raise ValueError(f"FINAL_STATES has {len(finals) + len(waiting)} states for {len(units)} units")
    others = iter(finals)
    scraps, unrepaired = iter(SCRAP_VARIANTS), iter(UNREPAIRED_VARIANTS)
    plans: list[_VisitPlan] = []
    failed_once = aborted_once = False  # at least one repaired unit fails its test and goes back to the
    # bench, then passes; at least one run errs (the fixture's cable) and is run again
    reflash_failed = False  # and one reflash fails its verify before it succeeds
    for unit in units:
        final = S.AWAITING_TEST if id(unit) in waiting else next(others)
        cases = CASES[unit.spec.family]
        on_demand = [c for c in cases if c.part in ON_DEMAND]
        if final is S.SCRAPPED:
            variant = next(scraps)
            case = rng.choice(on_demand if variant == "discontinued" else cases)
            steps = journeys.scrap(variant, case)
        elif final is S.RETURNED_UNREPAIRED:
            variant = next(unrepaired)
            if variant == "out_of_warranty" and unit.spec.warranty_months > 24:
                variant = "damage"  # a 36-month unit sold within the demo's three years is still covered
            case = rng.choice(cases)
            unit.warranty = "out" if variant == "out_of_warranty" else "in"
            steps = journeys.unrepaired(variant, case)
        else:
            case = rng.choice(on_demand if final is S.AWAITING_PARTS else cases)
            test_fail = rng.random() < 0.25 or (final is S.REFURBISHED and not failed_once)
            failed_once |= test_fail and final in (S.PASSED, S.REFURBISHED, S.SHIPPED)
            test_abort = rng.random() < 0.08 or (final is S.SHIPPED and not aborted_once)
            aborted_once |= test_abort and final in (S.PASSED, S.REFURBISHED, S.SHIPPED)
            parts = final is S.AWAITING_PARTS or (case.part is not None and rng.random() < 0.6)
            programming = final is S.PROGRAMMING or case.reflash or rng.random() < 0.2
            reflash_fail = (programming and not reflash_failed and unit.spec.family != "ecu"
                            and final in (S.PASSED, S.REFURBISHED, S.SHIPPED))
            reflash_failed |= reflash_fail
            steps = _truncate(journeys.repair(
                unit.spec, case, parts=parts, programming=programming, test_fail=test_fail, test_abort=test_abort,
                ending=final if final in (S.REFURBISHED, S.SHIPPED) else S.REFURBISHED, reflash_fail=reflash_fail,
            ), final)
        plans.append(_VisitPlan(unit, case, steps))
    # One unit just started on has human damage the lead has not confirmed yet (the lead's view shows it).
    fresh = next(p for p in plans if p.final is S.IN_REPAIR and p.steps[-1].event == "repair_started")
    kind, seen, finding = DAMAGE_FOUND["撞击"]
    fresh.steps.append(_Step(S.IN_REPAIR, Role.TECHNICIAN, "damage_reported", journeys.gap(30, 240),
                             {"damage_kind": kind, "reason": seen, "finding": finding, "note": seen}))
    return plans


def _earlier_visits(rng: random.Random, journeys: _Journeys, latest: list[_VisitPlan]) -> None:
    """Repeat returns: units now open that came back weeks after an earlier visit shipped them repaired."""
    open_now = [p for p in latest if p.final not in TERMINAL | {S.PASSED}]
    # One of them is in repair, whatever the date: the bench's queue and card show a repeat.
    first = rng.choice([p for p in open_now if p.final is S.IN_REPAIR])
    for plan in [first, *rng.sample([p for p in open_now if p is not first], REPEAT_RETURNS - 1)]:
        case = plan.case
        steps = journeys.repair(plan.unit.spec, case, parts=case.part is not None,
                                programming=case.reflash, test_fail=False, test_abort=False, ending=S.SHIPPED)
        plan.previous = _VisitPlan(plan.unit, case, steps)
        plan.unit.warranty = "in"


def _choose_warranty(rng: random.Random, latest: list[_VisitPlan]) -> None:
    """Some units the factory's records do not know, some sold too long ago, some known by make date only."""
    free = [p.unit for p in latest if p.previous is None and p.final is not S.RETURNED_UNREPAIRED]
    rng.shuffle(free)
    for unit in free[:UNKNOWN_UNITS]:
        unit.warranty = "unknown"
    short_term = [u for u in free[UNKNOWN_UNITS:] if u.spec.warranty_months <= 24]
    for unit in short_term[:OUT_UNITS]:
        unit.warranty = "out"
    for unit in [u for u in free[UNKNOWN_UNITS:] if u.warranty == "in"][:MADE_ONLY_UNITS]:
        unit.made_only = True


def _pack(rng: random.Random, latest: list[_VisitPlan]) -> list[_ParcelPlan]:
    """The latest visits in parcels, one dealer each; the newest parcels are still open."""
    received = [p for p in latest if p.final is S.RECEIVED]
    bench = [p for p in latest if p.final is S.AWAITING_BENCH]
    rest = [p for p in latest if p.final not in (S.RECEIVED, S.AWAITING_BENCH)]
    rng.shuffle(rest)
    together = [p for p in rest if p.final is S.SHIPPED][:2]  # one box goes back with two repaired units
    rest = together + [p for p in rest if all(p is not q for q in together)]
    parcels = [
        _ParcelPlan("", received[:2], declared=3, closed=False),  # the clerk is still at it
        _ParcelPlan("", received[2:], declared=1, closed=False),
        _ParcelPlan("", bench[:2], declared=2),
        _ParcelPlan("", bench[2:], declared=1),
    ]
    for units, declared in MULTI_UNIT_PARCELS:
        parcels.append(_ParcelPlan("", rest[:units], declared=declared))
        rest = rest[units:]
    parcels += [_ParcelPlan("", [plan], declared=1) for plan in rest]
    dealers = [code for code, _name, _region, _contact in CUSTOMERS]
    rng.shuffle(dealers)
    for n, parcel in enumerate(parcels):
        parcel.customer = dealers[n % len(dealers)]  # every dealer sends a few
        for plan in parcel.visits:
            plan.customer, plan.parcel = parcel.customer, parcel
    return parcels


def _span(parcel: _ParcelPlan) -> int:
    """Working minutes from the parcel's arrival to the last step of its slowest visit, at most."""
    scans = 1 + 4 * len(parcel.visits)
    if not parcel.closed:
        return scans
    return scans + 40 + max(sum(s.gap for s in plan.steps[2:]) for plan in parcel.visits)


def _schedule(rng: random.Random, hours: _WorkingTime, parcels: list[_ParcelPlan], window_start: int) -> None:
    """Parcels whose visits all closed arrive anywhere in the window; the others in the last few days."""
    for parcel in parcels:
        span = _span(parcel)
        finals = {plan.final for plan in parcel.visits}
        if finals <= TERMINAL:
            latest = hours.end - span
            parcel.start = min(latest, rng.randint(window_start, max(window_start, latest - hours.DAY)))
        else:
            recent = hours.DAY if finals & {S.RECEIVED, S.AWAITING_BENCH} else 5 * hours.DAY
            parcel.start = hours.end - rng.randint(5, recent) - span


def _pack_earlier(rng: random.Random, latest: list[_VisitPlan]) -> list[_ParcelPlan]:
    """The first visit of each repeat: its own parcel from the same dealer, weeks before it came back."""
    parcels = []
    for again in latest:
        plan = again.previous
        if plan is None:
            continue
        parcel = _ParcelPlan(again.customer, [plan], declared=1)
        plan.customer, plan.parcel = again.customer, parcel
        parcel.start = again.parcel.start - rng.randint(8, 20) * _WorkingTime.DAY - _span(parcel)
        parcels.append(parcel)
    return parcels


def _time(rng: random.Random, hours: _WorkingTime, parcels: list[_ParcelPlan]) -> None:
    """The minute of every step: scans a few minutes apart, the close, then each visit's own pace."""
    for parcel in parcels:
        minute = parcel.start
        parcel.arrived = hours.at(minute, rng.randint(0, 59))
        for plan in parcel.visits:
            minute += rng.randint(1, 4)
            plan.minutes, plan.times = [minute], [hours.at(minute, rng.randint(0, 59))]
        if not parcel.closed:
            continue
        minute += rng.randint(5, 40)
        parcel.closed_at = hours.at(minute, rng.randint(0, 59))
        for plan in parcel.visits:
            at = minute
            plan.minutes.append(at)
            plan.times.append(parcel.closed_at)  # close_parcel hands every unit to the bench queue
            for step in plan.steps[2:]:
                at += step.gap
                plan.minutes.append(at)
                plan.times.append(hours.at(at, rng.randint(0, 59)))


def _date_units(rng: random.Random, hours: _WorkingTime, visits: list[_VisitPlan], today: date) -> None:
    """Units made and shipped before they first came back, their serials from their make date."""
    first_back: dict[int, tuple[date, _VisitPlan]] = {}
    for plan in visits:
        received = hours.day(plan.minutes[0])
        if id(plan.unit) not in first_back or received < first_back[id(plan.unit)][0]:
            first_back[id(plan.unit)] = (received, plan)
    serials: set[str] = set()
    for received, plan in first_back.values():
        unit = plan.unit
        term = unit.spec.warranty_months * 30
        if unit.made_only:  # judged from the make date: made well within the term
            made = received - timedelta(rng.randint(60, min(term - 30, 600)))
        else:
            if unit.warranty == "in":
                unit.sold_on = received - timedelta(rng.randint(20, min(term - 15, 900)))
            elif unit.warranty == "out":
                unit.sold_on = received - timedelta(rng.randint(term + 20, term + 240))
            sold = unit.sold_on or received - timedelta(rng.randint(60, 600))
            made = sold - timedelta(rng.randint(10, 90))
        if unit.on_record:  # else the factory records lost it: only the serial tells
            unit.manufactured_on = made
            unit.shipped_to = plan.customer if rng.random() < 0.7 else rng.choice(DISTRIBUTORS)
            age = (today - made).days
            unit.firmware = (unit.spec.firmware if age < FIRMWARE_AGES[0] else
                             unit.spec.old_firmware if age < FIRMWARE_AGES[1] else OLDEST_FIRMWARE[unit.spec.code])
        while not unit.serial or unit.serial in serials:
            unit.serial = unit.spec.serial(made, rng.randint(1, 99999), rng.choice(LINE_LETTERS))
        serials.add(unit.serial)


def _ship(rng: random.Random, hours: _WorkingTime, parcels: list[_ParcelPlan], latest: list[_VisitPlan],
          waybills: set[tuple[str, str]]) -> list[_Shipment]:
    """Outbound parcels: repaired units of one inbound parcel go back together, unrepaired ones on
    their own, and a few refurbished units go out of stock to dealers whose unit was scrapped."""
    shipments: list[_Shipment] = []

    def shipment(customer: str, plans: list[_VisitPlan], minute: int, exchange: bool = False) -> _Shipment:
        courier = _courier(rng, OUTBOUND_COURIERS)
        out = _Shipment(customer, courier, _waybill(rng, courier, waybills), _cost(rng, courier, len(plans)), plans,
                        minute, hours.at(minute, rng.randint(0, 59)), exchange)
        shipments.append(out)
        return out

    for parcel in parcels:
        going = [p for p in parcel.visits if p.final is S.SHIPPED]
        if going:
            out = shipment(parcel.customer, going, max(p.minutes[-1] for p in going))
            for plan in going:  # the later ones wait for the slowest: one box, one waybill
                plan.minutes[-1], plan.times[-1], plan.shipment = out.minute, out.at, out
        for plan in parcel.visits:
            if plan.final is S.RETURNED_UNREPAIRED:
                out = shipment(parcel.customer, [plan], plan.minutes[-1])
                plan.times[-1], plan.shipment = out.at, out
                plan.steps[-1].details.update(courier=out.courier, waybill=out.waybill)

    stock = [p for p in latest if p.final is S.REFURBISHED]
    for lost in [p for p in latest if p.final is S.SCRAPPED]:
        if sum(s.exchange for s in shipments) >= EXCHANGE_UNITS:
            break
        for spare in sorted(stock, key=lambda p: p.unit.spec is not lost.unit.spec):  # the same model first
            minute = max(spare.minutes[-1], lost.minutes[-1]) + rng.randint(60, 960)
            if minute < hours.end:
                shipment(lost.customer, [spare], minute, exchange=True)
                stock.remove(spare)
                break
    return shipments


def _intercept(rng: random.Random, latest: list[_VisitPlan]) -> list[_InterceptionPlan]:
    """The supervisor's interception plans, drawn around units that do come back."""

    def target(code: str, ok: Callable[[_UnitPlan], bool] = lambda u: True,
               prefer: tuple[str, ...] = BENCH_FINDINGS) -> _UnitPlan:
        plans = [p for p in latest if p.unit.spec.code == code and ok(p.unit)]
        benched = [p for p in plans if any(s.event in prefer for s in p.steps)]
        return rng.choice(benched or plans).unit

    code, action = SERIAL_PLAN
    unit = target(code)
    head, number = unit.serial[:7], int(unit.serial[7:])
    plans = [_InterceptionPlan(code, action, serial_from=f"{head}{max(1, number - rng.randint(800, 4000)):06d}",
                               serial_to=f"{head}{min(999999, number + rng.randint(800, 4000)):06d}")]
    code, action = MADE_PLAN
    made = target(code, lambda u: u.manufactured_on is not None).manufactured_on
    plans.append(_InterceptionPlan(code, action, made_from=made - timedelta(rng.randint(5, 20)),
                                   made_to=made + timedelta(rng.randint(5, 20))))
    code, action = FIRMWARE_PLAN
    spec = SPECS[code]
    # a unit that is reflashed: the reflash leaves the firmware behind and clears the alert by itself
    target(code, lambda u: u.on_record, ("programming_done",)).firmware = spec.old_firmware
    plans.append(_InterceptionPlan(code, action.format(old=spec.old_firmware, new=spec.firmware),
                                   firmware=spec.old_firmware))
    return plans


def _what_came_in(rng: random.Random, plan: _VisitPlan) -> None:
    """The dealer's words beyond the reason code, and the accessories found in the box."""
    words = [plan.case.symptom] if plan.case.symptom != REASON_TEXT[plan.case.reason] else []
    if plan.previous is not None:
        words.append(REPEATED)
    plan.reason_text = "，".join(words) or None
    accessories = plan.unit.spec.accessories
    missing = set(rng.sample(accessories, rng.choice((0, 0, 0, 0, 1, 1, 2))))
    plan.accessories = [a for a in accessories if a not in missing]


# ---------------------------------------------------------------- loading

INCOMING_MINUTES = 8  # an incoming run takes the working minutes before its ledger row


class _TestStation:
    """The tester's runs: the real test-station services (the run engine) against the fixture
    simulator on a pty, unpaced. The engine commits in units of work of its own, as at a real
    station, so the demo's unit of work is committed before each of its calls and forgotten after
    (the run moved the visit). Every row is dated by the demo's clock, moved step by step from
    the run's start to its end."""

    def __init__(self, uow: UnitOfWork, db: Database, clock: _Clock, hours: _WorkingTime) -> None:
        self.uow, self.db, self.clock, self.hours = uow, db, clock, hours
        self.tester = next(username for username, _name, role in USERS if role is Role.TESTER)
        self.committed = False  # once true, a failure leaves part of the demo in the database
        self._sims: dict[int, FixtureSimulator] = {}
        self._started: dict[int, tests.RunStarted] = {}
        self._seed = 0

    def start(self, v: _VisitPlan, j: int, visit: Visit) -> None:
        """An outgoing run starts (the visit goes into test); it is carried out at the visit's next step."""
        after = v.steps[j + 1] if j + 1 < len(v.steps) else None  # none: the unit is still on the fixture
        sim = self._fixture(v, after.faults if after is not None else ())
        self._sims[id(v)] = sim
        with self._engine(visit) as tag:
            self._started[id(v)] = tests.start_run(self.db, self.tester, tag, port=sim.url, incoming=False,
                                                   station=v.steps[j].details["station"])

    def finish(self, v: _VisitPlan, j: int, visit: Visit) -> None:
        expected = {"test_passed": Outcome.PASS, "test_failed": Outcome.FAIL, "test_aborted": Outcome.ERROR}
        sim = self._sims.pop(id(v))
        try:
            started = self._started.pop(id(v))
            self._carry_out(visit, started, sim,
                            self._span(v.minutes[j - 1], v.times[j - 1], v.minutes[j], v.times[j]),
                            expected[v.steps[j].event], v.steps[j - 1].details["station"])
        finally:
            sim.close()

    def incoming(self, v: _VisitPlan, j: int, visit: Visit) -> None:
        """A whole incoming run, ending at the step's time: it shows the dealer's complaint, or nothing."""
        step = v.steps[j]
        sim = self._fixture(v, step.faults)
        try:
            begin = max(v.minutes[j - 1] + 1, v.minutes[j] - INCOMING_MINUTES)
            span = self._span(begin, self.hours.at(begin), v.minutes[j], v.times[j])
            self.clock.at = span(0.0)
            with self._engine(visit) as tag:
                started = tests.start_run(self.db, self.tester, tag, port=sim.url, incoming=True,
                                          station=step.details["station"])
            self._carry_out(visit, started, sim, span, Outcome.FAIL if step.faults else Outcome.PASS,
                            step.details["station"])
        finally:
            sim.close()

    def close(self) -> None:
        """Units still on the fixture (their visits stay in test): the simulators go, the runs stay open."""
        for sim in self._sims.values():
            sim.close()
        self._sims.clear()

    # -------------------------------------------------------------- the run itself

    def _fixture(self, v: _VisitPlan, faults: tuple[str, ...]) -> FixtureSimulator:
        self._seed += 1
        return FixtureSimulator(v.unit.spec.family, firmware=v.unit.spec.firmware, faults=faults, pace=False,
                                seed=self._seed)

    @contextmanager
    def _engine(self, visit: Visit) -> Iterator[str]:
        """Around a call of the engine on ``visit``: the demo's work so far committed (the engine
        writes on connections of its own), and the visit read again after (the run moved it)."""
        tag = visit.tag
        self.uow.session.commit()
        self.committed = True
        try:
            yield tag
        finally:
            self.uow.session.expire(visit)

    def _span(self, m0: int, t0: datetime, m1: int, t1: datetime) -> Callable[[float], datetime]:
        """The time at a fraction of the way from ``t0`` to ``t1``, along working time."""
        w0, w1 = m0 * 60 + t0.second, m1 * 60 + t1.second

        def at(fraction: float) -> datetime:
            w = w0 + round((w1 - w0) * fraction)
            return self.hours.at(w // 60, w % 60)

        return at

    def _carry_out(self, visit: Visit, started: tests.RunStarted, sim: FixtureSimulator,
                   span: Callable[[float], datetime], expected: Outcome, station: str) -> None:
        plan = started.plan
        writes = 1 + len(plan.steps)  # the fixture's identity, then every step

        def tick(event: object) -> None:
            # Each step is written at the clock's time, then reported here: move the clock on, to
            # the run's end once nothing more comes (the last step, or one that stops the run).
            if isinstance(event, tests.StepOutcome):
                last = (event.seq == len(plan.steps) or event.verdict is Verdict.ERROR
                        or (event.verdict is Verdict.FAIL and plan.stop_on_fail))
                self.clock.at = span(1.0 if last else (event.seq + 2) / (writes + 1))

        def answer(step: Step) -> str:  # the screen looks right; the test harness is the station's own
            return PROMPT_YES if step.answer != "scan" else f"TH-{2401 + TEST_STATIONS.index(station):04d}"

        self.clock.at = span(1 / (writes + 1))
        with self._engine(visit):
            result = tests.execute_run(self.db, started, SerialFixture(sim.url), answer=answer,
                                       checklist=lambda items: dict.fromkeys(items, True), on_event=tick)
        if result.outcome is not expected or not result.durable:
            raise RuntimeError(f"the demo's test run {result.run_id} of {result.tag} ended {result.outcome.value} "
                               f"({result.reason}), not {expected.value}")


TEST_STARTS = {"test_started": _TestStation.start, "incoming_test": _TestStation.incoming}


def _photo(seed: int, kind: str) -> bytes:
    """A tablet's photo of the damage (drawn: a board, its marks; the same for the same seed)."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    img = Image.new("RGB", (960, 720), (38, 92, 58))  # a green circuit board
    draw = ImageDraw.Draw(img)
    for _ in range(40):  # components
        x, y = rng.randrange(40, 900), rng.randrange(40, 660)
        draw.rectangle((x, y, x + rng.randrange(12, 60), y + rng.randrange(8, 40)), fill=(20, 20, 24))
    tint = {"water": (150, 120, 60), "impact": (200, 200, 200), "seal": (180, 40, 40)}.get(kind, (120, 120, 120))
    for _ in range(12):  # the damage: corrosion stains, cracks, a torn seal
        x, y, r = rng.randrange(100, 860), rng.randrange(100, 620), rng.randrange(10, 60)
        draw.ellipse((x - r, y - r, x + r, y + r), outline=tint, width=4)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=80)
    return out.getvalue()


class _Bench:
    """The bench's steps, made by the bench's services as the technician and the lead would make them:
    the scan that takes a unit, the coded complaint and the labour clock, findings, the interception
    alerts done, human damage with its photo, scrap proposals and their approval, and the decisions."""

    def __init__(self, uow: UnitOfWork, users: dict[Role, User]) -> None:
        self.uow, self.users = uow, users
        self.tech = users[Role.TECHNICIAN]
        self.photos = 0

    def start(self, v: _VisitPlan, j: int, visit: Visit) -> None:
        condition, symptom = CASE_CODES[v.case.fault][:2]
        bench.start_repair(self.uow, self.tech, visit.tag)
        bench.code_complaint(self.uow, self.tech, visit.tag, condition=condition, symptom=symptom)
        labour.start(self.uow, self.tech, visit.tag)

    def parts(self, event: str, visit: Visit) -> None:
        """The labour clock around the stores' steps: waiting for a backordered part is no labour;
        the clock runs again once the part is issued."""
        running = labour.running_session(self.uow, self.tech.id)
        here = running is not None and running.visit_id == visit.id
        if event == "parts_backordered" and here:
            labour.end(self.uow, self.tech, visit.tag, kind="pause")
        elif event == "parts_issued" and not here and visit.state is S.IN_REPAIR:
            labour.start(self.uow, self.tech, visit.tag)

    def _find(self, step: _Step, visit: Visit) -> None:
        section, designator, defect, repair = step.details["finding"]
        unnamed = sorted(bench_parts.fitted_designators(self.uow, visit.id)
                         - bench_parts.found_at(self.uow, visit.id)[0])
        if unnamed and designator not in unnamed:  # the part was fitted where the board has it: the finding says so
            designator = unnamed[0]
        bench.add_finding(self.uow, self.tech, visit.tag, section=section, designator=designator, defect=defect,
                          repair=repair, note=step.details.get("note"))

    def _decide(self, v: _VisitPlan, j: int, visit: Visit, decision: str) -> None:
        self._find(v.steps[j], visit)
        for alert in intake.open_alerts(self.uow, visit):
            if decision == "programming" and alert["kind"] == InterceptionKind.FIRMWARE.value:
                continue  # the reflash clears it by itself
            bench.mark_alert(self.uow, self.tech, visit.tag, alert["id"], note=ALERT_DONE[alert["kind"]])
        bench.decide(self.uow, self.tech, visit.tag, decision)

    def to_test(self, v: _VisitPlan, j: int, visit: Visit) -> None:
        self._decide(v, j, visit, "test")

    def to_programming(self, v: _VisitPlan, j: int, visit: Visit) -> None:
        self._decide(v, j, visit, "programming")

    def propose_scrap(self, v: _VisitPlan, j: int, visit: Visit) -> None:
        self._find(v.steps[j], visit)
        bench.decide(self.uow, self.tech, visit.tag, "scrap", reason=v.steps[j].details["reason"])

    def report_damage(self, v: _VisitPlan, j: int, visit: Visit) -> None:
        step = v.steps[j]
        self.photos += 1
        photos.attach_photo(self.uow, self.tech, visit.tag, filename=f"IMG_{2030 + self.photos}.jpg",
                            data=_photo(SEED + self.photos, step.details["damage_kind"]), purpose="damage")
        self._find(step, visit)
        bench.report_damage(self.uow, self.tech, visit.tag, damage=step.details["damage_kind"],
                            reason=step.details["reason"])

    def approve(self, v: _VisitPlan, j: int, visit: Visit) -> None:
        """The lead (or the supervisor) approves what waits: the scrap or the human damage."""
        (request,) = bench.list_requests(self.uow, pending_only=True, tag=visit.tag)
        bench.decide_request(self.uow, self.users[v.steps[j].role], request["id"], approve=True)

    def return_unrepaired(self, v: _VisitPlan, j: int, visit: Visit) -> None:
        step = v.steps[j]
        if visit.state is S.AWAITING_BENCH:  # the dealer called before the bench started: the clerk sends it back
            services.transition(self.uow, self.users[step.role], visit, step.to_state, event=step.event,
                                details=step.details)
            return
        if "finding" in step.details:
            self._find(step, visit)
        bench.decide(self.uow, self.tech, visit.tag, "return", reason=step.details["reason"])


BENCH_STEPS = {"repair_started": _Bench.start, "repair_done": _Bench.to_test,
               "sent_to_programming": _Bench.to_programming, "scrap_proposed": _Bench.propose_scrap,
               "scrapped": _Bench.approve, "damage_reported": _Bench.report_damage,
               "damage_confirmed": _Bench.approve, "returned_unrepaired": _Bench.return_unrepaired}


def _memory(spec: _ModelSpec) -> tuple[str, str, int]:
    return MCU if spec.family == "ecu" else FLASH


def firmware_image(code: str, version: str) -> bytes:
    """The demo's image of a model's firmware version: the same bytes every time."""
    return random.Random(f"{code} {version}").randbytes(_memory(SPECS[code])[2] * 1024)


def _firmware_registry(uow: UnitOfWork, engineer: User, lead: User, tick: Callable[[], None]) -> None:
    """The engineer uploads each model's firmware; the lead releases it and retires what it replaces."""
    for spec in MODELS:
        memory, chip_id, _kib = _memory(spec)
        ids = []
        for version, notes in ((spec.old_firmware, "量产版本"),
                               (spec.firmware, RELEASE_NOTES.get(spec.code, "稳定性改进"))):
            tick()
            image = registry.add_image(uow, engineer, data=firmware_image(spec.code, version),
                                       filename=f"{spec.code}_{version}.bin", version=version, models=[spec.code],
                                       memory=memory, chip_id=chip_id, notes=notes)
            tick()
            registry.release_image(uow, lead, str(image.id))
            ids.append(image.id)
        tick()
        registry.retire_image(uow, lead, str(ids[0]), reason=f"已由 {spec.firmware} 取代")
    code, version, notes = DRAFT_FIRMWARE
    memory, chip_id, _kib = _memory(SPECS[code])
    tick()
    registry.add_image(uow, engineer, data=firmware_image(code, version), filename=f"{code}_{version}.bin",
                       version=version, models=[code], memory=memory, chip_id=chip_id, notes=notes)


class _Reflash:
    """The bench's reflashes: the programming services (``reflash_unit``) against the programmer
    simulator on a pty, unpaced, as the technician runs them; each chip holds the unit's old
    firmware first. Like the tester's runs, they commit as they go, dated by the demo's clock."""

    def __init__(self, station: _TestStation) -> None:
        self.station = station
        self.technician = next(username for username, _name, role in USERS if role is Role.TECHNICIAN)
        self.sim: ProgrammerSimulator | None = None
        self.count = 0

    def reflash(self, v: _VisitPlan, j: int, visit: Visit) -> None:
        step, spec = v.steps[j], v.unit.spec
        if self.sim is None:
            self.sim = ProgrammerSimulator(PROGRAMMER_SOCKETS, faults=[WEAK_FLASH], pace=False)
        socket = 4 if spec.family == "ecu" else 3 if step.faults else 1 + self.count % 2
        self.count += 1
        firmware = visit.unit.firmware_version
        known = firmware in (spec.old_firmware, spec.firmware)
        self.sim.load(socket, firmware_image(spec.code, firmware) if known else
                      random.Random(visit.unit.serial).randbytes(_memory(spec)[2] * 1024))
        clock = self.station.clock
        span = self.station._span(v.minutes[j - 1], v.times[j - 1], v.minutes[j], v.times[j])

        def tick(event: object) -> None:  # the clock moves with the blocks, to the step's time at the verify
            if isinstance(event, programming.ReflashProgress):
                clock.at = span(0.6 + 0.35 * event.done / event.total if event.phase == "write" else 1.0)

        clock.at = span(0.6)
        with self.station._engine(visit) as tag:
            result = programming.reflash_unit(self.station.db, self.technician, tag, port=self.sim.url,
                                              socket=socket, station=PROGRAMMING_STATIONS[self.count % 2],
                                              on_event=tick)
        expected = AttemptResult.FAILED if step.faults else AttemptResult.OK
        if result.result is not expected or not result.durable:
            raise RuntimeError(f"the demo's reflash of {tag} ended {result.result.value} ({result.reason}), "
                               f"not {expected.value}")

    def close(self) -> None:
        if self.sim is not None:
            self.sim.close()
            self.sim = None


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
                      customers=count(Customer), visits=count(Visit), parcels=count(Parcel), test_runs=count(TestRun))


def _demo_present(uow: UnitOfWork) -> bool:
    """True when the demo is loaded; refuses a database that holds anything else."""
    names = set(uow.session.scalars(select(User.username)))
    if {username for username, _name, _role in USERS} <= names:
        return True
    tables = (ProductModel, Customer, Unit, Parcel, ReasonCode, Interception)
    if names or any(uow.session.scalar(select(func.count()).select_from(t)) for t in tables):
        raise DomainError(
            "demo_needs_empty_database",
            "the demo loads only into an empty database; this one already holds data ({users} users)",
            users=len(names),
        )
    return False


def load_demo(db: Database, *, today: date | None = None) -> DemoResult:
    """Load the demo into an empty database; a database that has it already is left alone.

    Until the first test run everything is one unit of work; the test station's runs commit as
    they go, as they do at a real station, so a failure after that leaves part of the demo.
    """
    demo = _plan(today or date.today())
    clock = _Clock(min(p.arrived for p in demo.parcels))
    station: _TestStation | None = None
    try:
        with db.uow(clock=clock) as uow:
            if _demo_present(uow):
                return _result(uow, created=False)
            station = _TestStation(uow, db.with_clock(clock), clock, demo.hours)
            reflasher = _Reflash(station)
            try:
                _load(uow, clock, demo, station, reflasher)
            finally:
                station.close()
                reflasher.close()
            return _result(uow, created=True)
    except Exception as exc:
        if station is not None and station.committed:
            reason = exc.message if isinstance(exc, DomainError) else str(exc).splitlines()[0]
            raise DomainError("demo_interrupted", "the demo stopped half-way ({reason}) and the database holds "
                              "part of it: load the demo into a new, empty database", reason=reason) from exc
        if isinstance(exc, IntegrityError):
            # Another station loaded the demo at the same moment: theirs stands.
            with db.uow(readonly=True) as uow:
                if _demo_present(uow):
                    return _result(uow, created=False)
        raise


def _load(uow: UnitOfWork, clock: _Clock, demo: _Demo, station: _TestStation, reflasher: _Reflash) -> None:
    # The department set rma up the day before its store opened, a little over a year ago.
    users: dict[Role, User] = {}
    stores = StoresDemo(uow, clock, users, demo.today)
    minute = 0

    def tick() -> None:
        nonlocal minute
        clock.at = stores.setup_at + timedelta(minutes=minute)
        minute += 1

    for username, display_name, role in USERS:  # the admin first, with no actor: the bootstrap
        tick()
        users[role] = services.add_user(uow, users.get(Role.ADMIN), username=username,
                                        password=_password(username), roles=[role], display_name=display_name)
    admin, supervisor, clerk = users[Role.ADMIN], users[Role.SUPERVISOR], users[Role.CLERK]
    bench_steps = _Bench(uow, users)
    models: dict[str, ProductModel] = {}
    for spec in MODELS:
        tick()
        models[spec.code] = catalogue.add_model(
            uow, admin, code=spec.code, name=spec.name, family=spec.family, serial_pattern=spec.serial_pattern,
            warranty_months=spec.warranty_months, firmware_version=spec.old_firmware,
            accessories=list(spec.accessories),
        )
    customers: dict[str, Customer] = {}
    for code, name, region, contact in CUSTOMERS:
        tick()
        customers[code] = catalogue.add_customer(uow, admin, code=code, name=name, region=region, contact=contact)
    for code, text in REASONS:
        tick()
        intake.add_reason(uow, supervisor, code, text)
    stores.open_store()
    tick()
    _firmware_registry(uow, supervisor, users[Role.LEAD], tick)
    tick()
    _factory_records(uow, supervisor, demo, models, customers)
    for plan in demo.interceptions:
        tick()
        intake.add_interception(uow, supervisor, model_code=plan.model, action=plan.action,
                                serial_from=plan.serial_from, serial_to=plan.serial_to,
                                made_from=plan.made_from, made_to=plan.made_to, firmware=plan.firmware)

    # Every step in the order it happened, so ledger ids follow time.
    actions: list[tuple[datetime, int, int, Callable[[], None]]] = []

    def at(when: datetime, rank: int, action: Callable[[], None]) -> None:
        actions.append((when, rank, len(actions), action))

    parcels: dict[int, Parcel] = {}
    visits: dict[int, Visit] = {}

    def arrive(p: _ParcelPlan) -> None:
        parcels[id(p)], _ = intake.receive_parcel(uow, clerk, courier=p.courier, waybill=p.waybill,
                                                  customer_code=p.customer, declared=p.declared, cost=p.cost)

    def scan(v: _VisitPlan) -> None:
        visits[id(v)] = intake.receive_unit(uow, clerk, parcels[id(v.parcel)], v.unit.serial,
                                            reason_code=v.case.reason, reason_text=v.reason_text,
                                            accessories=v.accessories).visit

    def close(p: _ParcelPlan) -> None:
        intake.close_parcel(uow, clerk, p.waybill, p.courier)

    def ship(s: _Shipment, v: _VisitPlan) -> None:
        intake.ship_unit(uow, clerk, v.unit.serial, courier=s.courier, waybill=s.waybill, cost=s.cost,
                         customer_code=s.customer)

    def step(v: _VisitPlan, j: int) -> None:
        s = v.steps[j]
        if s.event in TEST_STARTS:
            TEST_STARTS[s.event](station, v, j, visits[id(v)])
            return
        if s.event in TEST_ENDS:
            station.finish(v, j, visits[id(v)])
            return
        if s.event in BENCH_STEPS:
            BENCH_STEPS[s.event](bench_steps, v, j, visits[id(v)])
            if s.to_state is S.RETURNED_UNREPAIRED:
                ship(v.shipment, v)  # and back it goes, in its own box
            return
        if s.event in REFLASHES:
            reflasher.reflash(v, j, visits[id(v)])
            return
        if s.to_state is S.SHIPPED:
            ship(v.shipment, v)  # closes the passed visit as shipped
            return
        if s.event in STORES_EVENTS:  # through the stores' services
            if s.event == "parts_backordered":
                bench_steps.parts(s.event, visits[id(v)])
            stores.step(s.event, visits[id(v)], v.case.part)
            if s.event == "parts_issued":
                bench_steps.parts(s.event, visits[id(v)])
            return
        services.transition(uow, users[s.role], visits[id(v)], s.to_state, event=s.event, details=s.details)
        if s.to_state is S.RETURNED_UNREPAIRED:
            ship(v.shipment, v)  # and back it goes, in its own box

    for p in demo.parcels:
        at(p.arrived, 0, lambda p=p: arrive(p))
        for v in p.visits:
            at(v.times[0], 1, lambda v=v: scan(v))
        if p.closed:
            at(p.closed_at, 2, lambda p=p: close(p))
    for v in demo.visits:
        for j, s in enumerate(v.steps[1:], start=1):
            if s.event != "to_bench":  # close_parcel does that
                at(v.times[j], 3, lambda v=v, j=j: step(v, j))
    for s in demo.shipments:
        if s.exchange:
            at(s.at, 3, lambda s=s: ship(s, s.visits[0]))
    stores.schedule(at)
    arrivals = sorted(p.arrived for p in demo.parcels)  # an IC batch job, late in the demo's weeks
    at(arrivals[len(arrivals) * 9 // 10] + timedelta(minutes=15), 4, lambda: ic_job(
        uow, station.db, clock, users, stores.supplier["ic"], clock.at))
    for when, _rank, _n, action in sorted(actions, key=lambda a: a[:3]):
        clock.at = when
        action()


def _factory_records(uow: UnitOfWork, actor: User, demo: _Demo, models: dict[str, ProductModel],
                     customers: dict[str, Customer]) -> None:
    """The factory's shipment records of the units that will come back, as ``rma units import``
    writes them (that import commits on its own and by the wall clock, so it cannot take part
    in the demo's one backdated transaction)."""
    known = [u for u in demo.units if u.on_record]
    for unit in sorted(known, key=lambda u: u.serial):
        uow.session.add(Unit(serial=unit.serial, model=models[unit.spec.code], manufactured_on=unit.manufactured_on,
                             sold_on=unit.sold_on, shipped_to_id=customers[unit.shipped_to].id,
                             firmware_version=unit.firmware, created_at=uow.now()))
    uow.session.flush()
    record_audit(uow, actor, "units_imported", f"{len(known)} rows",
                 {"created": len(known), "updated": 0, "rejected": 0})
