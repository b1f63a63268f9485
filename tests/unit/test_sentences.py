"""Every ledger event reads as a sentence in English and in 简体中文: no repr, no code, and no
English words in the Chinese one. The event codes are found in the sources, so a new event
without a sentence (or without an example here) fails."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from rma import sentences
from rma.i18n import CHINESE, ENGLISH
from rma.sentences import Lookups, event_sentence, registry
from rma.test_station.sentences import run_reason, step_problem

RMA = Path(sentences.__file__).parent
LOOK = Lookups(interceptions={3: "更换CAN收发器 replace the CAN transceiver"},
               steps={"rail_5v": "5 V rail 5V电源", "rail_12v": "12 V rail 12V电源", "display_red": "屏幕全红",
                      "audio_fl": "左前声道音频"})

# Representative details of each event, in every shape something writes (services, engine, demo).
EXAMPLES: dict[str, list[dict]] = {
    "opened": [
        {"reason": "no power — 开机无反应", "parcel": "SF SF1234567890", "reason_code": "NOPWR", "warranty": "in",
         "warranty_until": "2027-06-18", "repeat_of": "R26-000003", "interceptions": [3],
         "accessories": ["主机线束", "支架"], "model_chosen": "DC-220", "candidates": ["HU-8800", "DC-220"]},
        {"reason": None, "parcel": "JD JD0001", "reason_code": None, "warranty": "out", "warranty_until": "2024-01-31",
         "repeat_of": None, "interceptions": [], "accessories": []},
        {"reason": "屏幕闪烁", "warranty": "unknown", "warranty_until": None, "interceptions": [3, 99]},
        {"reason": "no power"},  # a visit opened outside courier intake
    ],
    "manual_move": [{"reason": "repaired 已修好"}],
    "to_bench": [{"parcel": "SF1234567890"}],
    "alert_done": [{"alert": 3, "interception": 2, "action": "更换电源IC U12", "note": "已更换 U12"},
                   {"alert": 4, "interception": 3, "action": "升级固件", "note": "固件已升级至 5.0.3", "by_system": True}],
    "alert_waived": [{"alert": 5, "interception": 2, "action": "更换电源IC U12", "note": "该机 U12 已是新批次"}],
    "reason_recorded": [{"reason_code": "NOPWR", "reason": "不开机 — 冷车时偶发"}, {"reason": "屏幕闪烁"}],
    "accessories_checked": [{"accessories": ["主机线束"], "missing": ["支架"]}, {"accessories": [], "missing": ["支架"]}],
    "shipped": [{"courier": "SF", "waybill": "SF9876543210", "customer": "SH-PD01"}, {}],
    "left_depot": [{"courier": "JD", "waybill": "JD0002", "customer": "GZ-TH02"}],
    "test_started": [{"run": 12, "station": "T-01", "attempt": 1}, {"run": 14, "station": "T-01", "attempt": 3},
                     {"station": "测试台 T-01", "plan": "HU-8800 出货功能测试"}],
    "test_taken_over": [{"run": 13, "station": "T-02"}],
    "test_passed": [{"run": 13, "outcome": "pass"},
                    {"steps_passed": 18, "accessories_ok": True, "packaging_ok": False}],
    "test_failed": [
        {"run": 12, "outcome": "fail", "reason": "failed: rail_5v, audio_fl", "failed_steps": ["rail_5v", "audio_fl"]},
        {"run": 15, "outcome": "fail", "reason": "missing accessories or packaging: 支架, 彩盒"},
        {"step": "音频输出", "measured": "左声道THD 6.8%，上限 1%"},
    ],
    "test_aborted": [
        {"run": 16, "outcome": "error", "reason": "step rail_12v: reply 'abc' is not a number"},
        {"run": 17, "outcome": "error", "reason": "step rail_5v: fixture port lost: the fixture port /dev/x is gone: EIO"},
        {"run": 18, "outcome": "aborted", "reason": "stopped by the tester"},
        {"run": 19, "outcome": "error", "reason": "the fixture on socket://a:1 does not answer: no reply to *IDN? within 2 s"},
        {"run": 20, "outcome": "error", "reason": "the accessories and packaging check was not answered"},
        {"run": 21, "outcome": "error", "reason": "the end of the run could not be written to the test ledger: gone"},
        {"reason": "治具通信超时，重新排队"},
    ],
    "incoming_test": [{"run": 22, "outcome": "fail", "reason": "failed: display_red", "failed_steps": ["display_red"]},
                      {"run": 23, "outcome": "pass"}],
    "repair_started": [{"bench": "维修台 W-01"}, {"technician": "zhangwei"}],
    "bench_taken": [{"technician": "zhangwei"}],
    "bench_assigned": [{"technician": "zhangwei", "before": "liming"}, {"technician": None, "before": "zhangwei"}],
    "complaint_coded": [
        {"condition": "2", "condition_en": "Intermittent", "condition_zh": "间歇出现", "symptom": "202",
         "symptom_en": "Screen flickers", "symptom_zh": "屏幕闪烁", "group": "200", "group_en": "Display",
         "group_zh": "显示", "note": "冷车时更明显"},
        {"condition": "1", "condition_en": "Constant", "condition_zh": "持续出现", "symptom": "101",
         "symptom_en": "No power at all", "symptom_zh": "完全不开机", "note": None},
    ],
    "finding_recorded": [
        {"finding": 7, "nff": False, "section": "LCD", "section_en": "Display panel", "section_zh": "显示屏",
         "designator": "J3", "defect": "D09", "defect_en": "Loose or unseated connector or cable",
         "defect_zh": "接插件或排线松动", "repair": "R08", "repair_en": "Reseated and secured", "repair_zh": "重新插接并固定",
         "note": None},
        {"finding": 8, "nff": True, "designator": None, "note": "冷热循环测试两小时未复现"},
        {"finding": 9, "nff": False, "section": "FW", "section_en": "Firmware", "section_zh": "固件",
         "designator": None, "defect": "D07", "defect_en": "Firmware corrupted", "defect_zh": "固件损坏",
         "repair": "R05", "repair_en": "Reflashed firmware", "repair_zh": "重新烧录固件", "note": "eMMC 系统分区"},
        {"finding": 10, "nff": False, "section": "PWR", "section_en": "Power supply", "section_zh": "电源",
         "designator": "C215", "defect": "D08", "defect_en": "Failed component", "defect_zh": "元件失效",
         "repair": "R01", "repair_en": "Replaced component", "repair_zh": "更换元件", "note": "改版板上新增的电容",
         "not_on_board": True},
    ],
    "finding_withdrawn": [{"finding": 7, "nff": False, "defect": "D09", "defect_en": "Loose or unseated connector",
                           "defect_zh": "接插件松动", "designator": "J3", "reason": "录错位号"}],
    "photo_added": [{"purpose": "damage", "file": "IMG_2031.jpg"}, {"purpose": "unit", "file": "照片.png"}],
    "damage_reported": [{"request": 3, "damage_kind": "water", "reason": "主板有水渍腐蚀", "photos": 2}],
    "damage_confirmed": [{"request": 3, "note": None, "requested_by": "zhangwei", "damage_kind": "water",
                          "reason": "主板有水渍腐蚀", "warranty": "out", "was": "in"}],
    "damage_rejected": [{"request": 4, "note": "属正常磨损", "requested_by": "zhangwei", "damage_kind": "impact"}],
    "scrap_proposed": [{"request": 5, "reason": "主板多处烧毁，维修成本高于新品"}],
    "scrap_rejected": [{"request": 5, "note": "先换电源板试修", "requested_by": "zhangwei", "reason": "主板烧毁"}],
    "waiver_requested": [{"request": 6, "alert": 2, "action": "更换电源IC U12", "note": "U12 已是新批次"}],
    "waiver_rejected": [{"request": 6, "note": "仍须更换", "requested_by": "zhangwei", "alert": 2,
                         "action": "更换电源IC U12"}],
    "sent_to_programming": [{"findings": 1, "nff": False, "labour_minutes": 25}],
    "parts_requested": [
        {"lines": [{"part": "IC-TJA1043", "name_zh": "CAN收发器 TJA1043", "name_en": "CAN transceiver TJA1043",
                    "uom": "each", "qty": "1"},
                   {"part": "W-FFC-40P", "name_zh": "排线 40P", "name_en": "Flat cable 40-pin", "uom": "m",
                    "qty": "0.50", "designator": "FPC1"}], "note": "左声道无输出"},
        {"part": "CAN收发器 TJA1043", "qty": 1},  # the old demo's shape
    ],
    "parts_issued": [
        {"part": "IC-TJA1043", "name_zh": "CAN收发器 TJA1043", "name_en": "CAN transceiver TJA1043", "uom": "each",
         "qty": "2", "bin": "A-03-2", "backordered": "1"},
        {"part": "CAN收发器 TJA1043", "qty": 2},
    ],
    "programming_started": [{"attempt": 12, "station": "bench-1", "firmware": "3.2.1", "from_version": "3.1.0",
                             "chip": "W25Q16 EF4015", "socket": 1},
                            {"attempt": 13, "station": "bench-2", "firmware": "3.2.1", "from_version": None,
                             "chip": "STM32F103CB 0410", "socket": 4}],
    "programming_done": [{"attempt": 12, "firmware": "3.2.1", "from_version": "3.1.0", "image": "61e27b8b6377",
                          "verified": True},
                         {"attempt": 14, "firmware": "3.2.1", "from_version": None, "image": "61e27b8b6377",
                          "verified": True}],
    "repair_done": [{"fault": "功放输出电容虚焊", "cause": "返工", "action": "补焊输出电容", "part": "电容 100uF"},
                    {"findings": 2, "nff": False, "labour_minutes": 48}, {"findings": 1, "nff": True,
                                                                         "labour_minutes": 120}],
    "refurbished_into_stock": [{"location": "REFURB", "model": "HU-8800"}, {"location": "翻新品库 R-01-02"}],
    "scrapped": [{"reason": "所需备件已停产", "part": "主板"},
                 {"findings": 2, "nff": False, "labour_minutes": 30, "reason": "主板烧毁碳化", "request": 5,
                  "note": None, "requested_by": "zhangwei"}],
    "parts_backordered": [{"part": "LCD-1025", "name_zh": "10.25寸屏幕总成", "name_en": "10.25-inch display assembly",
                           "uom": "each", "qty": "1"}],
    "request_cancelled": [{"part": "LCD-1025", "name_zh": "10.25寸屏幕总成", "name_en": "10.25-inch display assembly",
                           "uom": "each", "qty": "1"}],
    "part_fitted": [{"part": "IC-PMIC-88", "name_zh": "电源管理IC", "name_en": "Power management IC", "uom": "each",
                     "qty": "1", "designator": "U12", "note": "按ECN-2291更换"}],
    "part_returned": [{"part": "W-FFC-40P", "name_zh": "排线 40P", "name_en": "Flat cable 40-pin", "uom": "m",
                       "qty": "0.25", "bin": "B-02-02"}],
    "old_part_removed": [{"part": "IC-PMIC-88", "name_zh": "电源管理IC", "name_en": "Power management IC",
                          "uom": "each", "qty": "1", "designator": "U12", "note": "击穿"}, {"part": "X-1", "qty": "1"}],
    "part_move_corrected": [{"part": "IC-PMIC-88", "name_zh": "电源管理IC", "name_en": "Power management IC",
                             "uom": "each", "qty": "1", "kind": "fit", "note": "装错位号"}],
    "programming_failed": [
        {"attempt": 15, "firmware": "3.2.1", "code": "programmer_verify_failed", "address": "0x00001F3A"},
        {"attempt": 16, "firmware": "3.2.1", "code": "programmer_verify_failed"},
        {"attempt": 17, "firmware": "3.2.1", "code": "programmer_wrong_chip", "expected": "EF4015", "actual": "EF4016"},
        {"attempt": 18, "firmware": "3.2.1", "code": "programmer_no_target"},
        {"attempt": 19, "firmware": "3.2.1", "code": "programmer_write_failed", "address": "0x00005000"},
    ],
    "programming_error": [
        {"attempt": 20, "firmware": "3.2.1", "code": "programmer_timeout"},
        {"attempt": 21, "firmware": "3.2.1", "code": "programmer_port_lost", "address": "0x00007000"},
        {"attempt": 22, "firmware": "3.2.1", "code": "programmer_socket_disabled"},
        {"attempt": 23, "firmware": "3.2.1", "code": "internal_error"},
        {"attempt": 24, "firmware": "3.2.1", "code": "something_new"},
    ],
    "programming_aborted": [{"attempt": 25, "firmware": "3.2.1", "code": "aborted", "address": "0x00003000"}],
    "returned_unrepaired": [{"reason": "人为损坏：主机进水", "damage": "进水", "warranty": "void"},
                            {"reason": "过保，经销商不同意付费维修", "warranty": "out"},
                            {"findings": 1, "nff": False, "labour_minutes": 10, "reason": "经销商不同意付费维修",
                             "damage_kind": "water", "warranty": "out"}],
}

PATH = re.compile(r"(?:/[\w.\-]+){2,}")
SNAKE = re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b")
ENGLISH_WORDS = re.compile(r"\b(step|steps|measured|part|fault|warranty|in|out|reason|run|test|passed|failed)\b",
                           re.IGNORECASE)


def readable(text: str, lang: str) -> list[str]:
    """What is wrong with a sentence a person reads. A file path in it (a fixture's port, a label
    saved) is the reader's own data, said as it is: its random temporary folder names are not codes."""
    text = PATH.sub("", text)
    problems = [f"{bad!r} in it" for bad in ("[", "]", "{", "}", "True", "False", "None") if bad in text]
    problems += [f"code {m!r}" for m in SNAKE.findall(text)]
    if lang == CHINESE:
        problems += [f"English {m!r}" for m in ENGLISH_WORDS.findall(text)]
    return problems


# ---------------------------------------------------------------- the codes the code base writes

def _literal(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def written_event_codes() -> dict[str, str]:
    """code -> where: ``record_visit_event(uow, visit, actor, "code")``, ``event="code"``, the demo's
    ``_Step(state, role, "code")`` and the engine's ``(VisitState.X, "code")`` pairs."""
    found: dict[str, str] = {}
    for path in sorted(RMA.glob("**/*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            codes: list[str | None] = []
            if isinstance(node, ast.Call):
                name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
                if name == "record_visit_event" and len(node.args) >= 4:
                    arg = node.args[3]  # a literal, or one of two: "a" if x else "b"
                    codes += [_literal(arg.body), _literal(arg.orelse)] if isinstance(arg, ast.IfExp) else [_literal(arg)]
                if name == "_Step" and len(node.args) >= 3:
                    codes.append(_literal(node.args[2]))
                codes += [_literal(k.value) for k in node.keywords if k.arg == "event"]
            elif isinstance(node, ast.Tuple) and len(node.elts) == 2:
                state, code = node.elts
                if isinstance(state, ast.Attribute) and getattr(state.value, "id", None) == "VisitState":
                    codes.append(_literal(code))
            for code in codes:
                if code:
                    found.setdefault(code, f"{path.relative_to(RMA.parent)}:{node.lineno}")
    return found


def test_the_scan_finds_the_events_of_every_writer():
    found = written_event_codes()
    assert {"opened", "manual_move", "to_bench", "accessories_checked", "shipped", "left_depot", "test_started",
            "test_taken_over", "test_passed", "test_failed", "test_aborted", "incoming_test", "repair_done"} <= set(found)


def test_every_event_written_has_a_sentence_and_an_example():
    missing = {code: where for code, where in written_event_codes().items() if code not in registry()}
    assert not missing, f"events without a sentence (register one, see rma/sentences.py): {missing}"
    assert set(EXAMPLES) == set(registry()), "every registered event needs its examples here"


# ---------------------------------------------------------------- the sentences

CASES = [(code, n, details) for code, shapes in EXAMPLES.items() for n, details in enumerate(shapes)]


@pytest.mark.parametrize("lang", [ENGLISH, CHINESE])
@pytest.mark.parametrize("code,n,details", CASES, ids=[f"{c}-{n}" for c, n, _ in CASES])
def test_every_event_reads_as_a_sentence(code, n, details, lang):
    text = event_sentence(code, details, LOOK, lang=lang)
    assert readable(text, lang) == [], text
    label = sentences.event_label(code, lang)
    assert text.startswith(label) and text.endswith("。" if lang == CHINESE else "."), text


def test_values_become_words_of_the_reader():
    opened = EXAMPLES["opened"][0]
    en = event_sentence("opened", opened, LOOK, lang=ENGLISH)
    zh = event_sentence("opened", opened, LOOK, lang=CHINESE)
    assert "in warranty until 2027-06-18" in en and "保修期内（至 2027-06-18）" in zh
    assert "主机线束, 支架" in en and "主机线束、支架" in zh
    assert "拦截：更换CAN收发器" in zh  # the plan's action, not its id
    assert "2 interception plans matched" in event_sentence("opened", EXAMPLES["opened"][2], LOOK, lang=ENGLISH)
    failed = event_sentence("test_failed", EXAMPLES["test_failed"][0], LOOK, lang=CHINESE)
    assert "5 V rail 5V电源、左前声道音频" in failed
    passed = event_sentence("test_passed", EXAMPLES["test_passed"][1], LOOK, lang=CHINESE)
    assert "配件齐全：是" in passed and "包装完好：否" in passed
    assert "已过保" in event_sentence("opened", EXAMPLES["opened"][1], LOOK, lang=CHINESE)


def test_an_unknown_event_still_reads():
    details = {"bin_code": "A-01", "items": ["螺丝", "垫片"], "counted": True, "note": None, "extra": {"a_b": 1}}
    for lang in (ENGLISH, CHINESE):
        text = event_sentence("stock_counted", details, lang=lang)
        assert text.startswith("Stock counted"), text
        assert "bin code" in text and "A-01" in text and "垫片" in text
        assert not [p for p in readable(text, ENGLISH)], text


def test_a_second_sentence_for_an_event_is_refused():
    def elsewhere(d, _, look):  # noqa: ANN001, ANN202
        return []

    elsewhere.__module__ = "rma.somewhere_else"
    with pytest.raises(ValueError, match="already has a sentence"):
        sentences.sentence("opened", "Opened again")(elsewhere)


def test_money_and_dates():
    en, zh = sentences.Words(ENGLISH), sentences.Words(CHINESE)
    assert en.money("18") == "CNY 18.00" and zh.money("18.5") == "18.50 元"
    assert en.date("2026-11-30") == zh.date("2026-11-30") == "2026-11-30"
    assert zh.value([1, 2.5, True]) == "1、2.5、是"


# ---------------------------------------------------------------- why a step failed, how a run ended

STEPS = [
    {"kind": "range", "limits": {"min": -9.0, "max": -3.0, "unit": "dBV"}, "value": "-80", "numeric": -80.0,
     "verdict": "fail", "message": "-80 dBV is below -9 dBV"},
    {"kind": "range", "limits": {"min": 11.4, "max": 12.6, "unit": "V"}, "value": "13.1", "numeric": 13.1,
     "verdict": "fail", "message": "13.1 V is above 12.6 V"},
    {"kind": "equals", "limits": {"equals": "3.2.1"}, "value": "3.1.0", "verdict": "fail",
     "message": "'3.1.0' is not '3.2.1'"},
    {"kind": "regex", "limits": {"regex": "^FIX 3D$"}, "value": "NOFIX", "verdict": "fail",
     "message": "'NOFIX' does not match '^FIX 3D$'"},
    {"kind": "prompt", "limits": {"answer": "yes_no"}, "value": "no", "verdict": "fail",
     "message": "the operator answered no"},
    {"kind": "prompt", "limits": {"answer": "scan", "regex": "^TH-"}, "value": "XX", "verdict": "fail",
     "message": "scanned 'XX' does not match '^TH-'"},
    {"kind": "range", "limits": {"min": 1, "max": 2, "unit": "V"}, "value": "abc", "verdict": "error",
     "message": "reply 'abc' is not a number"},
    {"kind": "equals", "limits": {"equals": None}, "value": "3.2.1", "verdict": "error",
     "message": "the model has no current firmware version in the catalogue"},
    {"kind": "range", "command": "MEAS:VOLT? V5", "limits": {}, "verdict": "error",
     "message": "fixture port lost: the fixture port /dev/ttyUSB0 is gone: [Errno 5] EIO"},
    {"kind": "range", "command": "MEAS:VOLT? V5", "limits": {}, "verdict": "error",
     "message": "no reply to MEAS:VOLT? V5 within 2 s"},
    {"kind": "range", "command": "MEAS:VOLT? V5", "limits": {}, "verdict": "error",
     "message": "garbage from the fixture: no ';' between echo and payload: b'xx'"},
    {"kind": "range", "command": "MEAS:VOLT? V5", "limits": {}, "verdict": "error", "message": "something new"},
]


@pytest.mark.parametrize("step", STEPS, ids=[f"{s['verdict']}-{s['kind']}-{n}" for n, s in enumerate(STEPS)])
def test_why_a_step_failed_is_said_in_the_readers_language(step):
    en = step_problem(step, sentences.Words(ENGLISH))
    zh = step_problem(step, sentences.Words(CHINESE))
    assert en and zh and en != zh
    words = zh
    for data in (step.get("value"), step.get("command"), *step["limits"].values()):  # the step's own data stays
        words = words.replace(str(data), "") if data else words
    assert readable(zh, CHINESE) == [] and not re.search(r"[A-Za-z]{3,}", words), zh
    if step["verdict"] == "fail" and step["kind"] == "range":
        assert en == step["message"]  # the same words the engine wrote


def test_the_reported_fail_reason_reads_in_chinese():
    zh = step_problem(STEPS[0], sentences.Words(CHINESE))
    assert zh == "-80 dBV 低于下限 -9 dBV"


def test_run_reasons_in_both_languages():
    en, zh = sentences.Words(ENGLISH), sentences.Words(CHINESE)
    assert run_reason("failed: rail_5v", zh, LOOK, failed_steps=["rail_5v"]) is None  # the failed steps say it
    assert run_reason("failed: rail_5v", zh, LOOK) == "不合格项：5 V rail 5V电源"
    assert run_reason("stopped by the tester", en, LOOK) == "stopped by the tester"
    reason = run_reason("missing accessories or packaging: 支架", zh, LOOK, checklist={"支架": False, "线束": True})
    assert reason == "缺少配件或包装：支架"
    reason = run_reason("step rail_12v: reply 'abc' is not a number", zh, LOOK)
    assert reason == "12 V rail 12V电源 无法完成：应答 “abc” 不是数字"
    assert run_reason("治具通信超时", zh, LOOK) == "治具通信超时"  # someone's own words stay
