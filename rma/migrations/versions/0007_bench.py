"""bench: repair cards, findings ledger, labour, photos, approvals, code lists

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

from rma.migrations.ledger_guard import (
    drop_ledger_guard,
    harden_ledger_guard,
    install_ledger_guard,
)

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


# The code lists as the department starts with them (the lead edits them later, each change
# audited): shaped like the electronics trade's IRIS coding, for automotive electronics.
# (kind, code, parent, English, 简体中文, sections a defect may be found in, needs a note)
ELECTRONIC = ["MB", "PWR", "LCD", "TP", "KEY", "AMP", "TUN", "GNSS", "CAM", "CAN", "RF", "MEM", "MCU", "CON"]
CODES = [
    ("condition", "1", None, "Constant", "持续出现", [], False),
    ("condition", "2", None, "Intermittent", "间歇出现", [], False),
    ("condition", "3", None, "After warm-up", "热机后出现", [], False),
    ("condition", "4", None, "When cold", "冷机时出现", [], False),
    ("condition", "5", None, "With vibration or on rough roads", "车辆颠簸或振动时出现", [], False),
    ("condition", "6", None, "At engine start", "点火启动时出现", [], False),
    ("condition", "7", None, "After a software update", "升级软件后出现", [], False),
    ("condition", "8", None, "Only with one device or medium (phone, USB, card)", "仅连接特定设备或介质时出现", [], False),
    ("condition", "9", None, "In wet or humid weather", "雨天或潮湿时出现", [], False),
    ("condition", "X", None, "The dealer did not say", "经销商未说明", [], False),
    ("condition", "0", None, "Other", "其他", [], True),

    ("symptom", "100", None, "Power and start-up", "电源与启动", [], False),
    ("symptom", "101", "100", "No power at all", "完全不开机", [], False),
    ("symptom", "102", "100", "Switches off by itself", "自动关机", [], False),
    ("symptom", "103", "100", "Stuck at the start-up logo", "卡在开机画面", [], False),
    ("symptom", "104", "100", "Restarts again and again", "反复重启", [], False),
    ("symptom", "105", "100", "Drains the battery when off", "熄火后耗电（静态电流大）", [], False),
    ("symptom", "106", "100", "Does not wake with the ignition", "点火后不唤醒", [], False),
    ("symptom", "200", None, "Display", "显示", [], False),
    ("symptom", "201", "200", "Black screen, no backlight", "黑屏，背光不亮", [], False),
    ("symptom", "202", "200", "Screen flickers", "屏幕闪烁", [], False),
    ("symptom", "203", "200", "Lines or garbled picture", "花屏或有线条", [], False),
    ("symptom", "204", "200", "Dim or uneven backlight", "背光暗或不均匀", [], False),
    ("symptom", "205", "200", "Picture freezes", "画面卡死", [], False),
    ("symptom", "300", None, "Touch and buttons", "触摸与按键", [], False),
    ("symptom", "301", "300", "Touch does not respond", "触摸无反应", [], False),
    ("symptom", "302", "300", "Touch drifts or ghost touches", "触摸漂移或乱跳", [], False),
    ("symptom", "303", "300", "A button does not work", "按键失灵", [], False),
    ("symptom", "304", "300", "Knob skips or does nothing", "旋钮失灵或跳档", [], False),
    ("symptom", "305", "300", "Steering-wheel buttons do nothing", "方向盘按键无效", [], False),
    ("symptom", "400", None, "Audio", "音频", [], False),
    ("symptom", "401", "400", "No sound", "无声音", [], False),
    ("symptom", "402", "400", "One channel silent", "单声道无声", [], False),
    ("symptom", "403", "400", "Distorted sound or noise", "声音失真或有杂音", [], False),
    ("symptom", "404", "400", "Microphone silent in calls", "通话时麦克风无声", [], False),
    ("symptom", "405", "400", "No radio reception", "收音无信号", [], False),
    ("symptom", "500", None, "Positioning and navigation", "定位与导航", [], False),
    ("symptom", "501", "500", "No GPS fix", "无法定位", [], False),
    ("symptom", "502", "500", "Position drifts", "定位漂移", [], False),
    ("symptom", "503", "500", "Map card not read", "地图卡读取失败", [], False),
    ("symptom", "600", None, "Camera and recording", "摄像与录像", [], False),
    ("symptom", "601", "600", "Camera picture black", "摄像头黑屏", [], False),
    ("symptom", "602", "600", "Picture blurred or noisy", "画面模糊或噪点大", [], False),
    ("symptom", "603", "600", "Recording stops, card error", "录像中断，存储卡报错", [], False),
    ("symptom", "604", "600", "Last recording lost at switch-off", "熄火后最后一段录像丢失", [], False),
    ("symptom", "700", None, "Communication", "通信", [], False),
    ("symptom", "701", "700", "CAN communication fault", "CAN通信故障", [], False),
    ("symptom", "702", "700", "Diagnostic tester cannot connect", "诊断仪无法连接", [], False),
    ("symptom", "703", "700", "Bluetooth does not pair", "蓝牙无法连接", [], False),
    ("symptom", "704", "700", "Wi-Fi does not connect", "Wi-Fi无法连接", [], False),
    ("symptom", "705", "700", "USB or phone projection not recognised", "USB或手机投屏无法识别", [], False),
    ("symptom", "706", "700", "Communication drops now and then", "偶发通信中断", [], False),
    ("symptom", "800", None, "Gauges and warning lamps", "仪表与指示灯", [], False),
    ("symptom", "801", "800", "Wrong gauge or odometer reading", "指针或里程显示异常", [], False),
    ("symptom", "802", "800", "Warning lamps on without cause", "故障灯误报常亮", [], False),
    ("symptom", "900", None, "Housing and mechanics", "外观与机械", [], False),
    ("symptom", "901", "900", "Housing cracked or deformed", "外壳破裂或变形", [], False),
    ("symptom", "902", "900", "Connector damaged", "接插件损坏", [], False),
    ("symptom", "903", "900", "Rattle or loose part", "异响或部件松动", [], False),
    ("symptom", "990", None, "Other", "其他", [], False),
    ("symptom", "999", "990", "Other symptom", "其他故障现象", [], True),

    ("section", "MB", None, "Main board", "主板", [], False),
    ("section", "PWR", None, "Power supply", "电源电路", [], False),
    ("section", "LCD", None, "Display panel", "显示屏", [], False),
    ("section", "TP", None, "Touch panel", "触摸屏", [], False),
    ("section", "KEY", None, "Button board", "按键板", [], False),
    ("section", "AMP", None, "Audio amplifier", "功放电路", [], False),
    ("section", "TUN", None, "Radio tuner", "收音模块", [], False),
    ("section", "GNSS", None, "GPS module and antenna input", "定位模块及天线接口", [], False),
    ("section", "CAM", None, "Camera module", "摄像头模组", [], False),
    ("section", "CAN", None, "CAN and vehicle interface", "CAN及车辆接口", [], False),
    ("section", "RF", None, "Bluetooth / Wi-Fi module", "蓝牙/Wi-Fi模块", [], False),
    ("section", "MEM", None, "Memory and card slot", "存储器及卡座", [], False),
    ("section", "MCU", None, "MCU / SoC", "主控芯片", [], False),
    ("section", "CON", None, "Connectors and cables", "连接器与排线", [], False),
    ("section", "HSG", None, "Housing and mechanics", "外壳与结构件", [], False),
    ("section", "FW", None, "Firmware", "固件", [], False),
    ("section", "OTH", None, "Other", "其他", [], True),

    ("defect", "D01", None, "Cracked solder joint", "焊点开裂/虚焊", ELECTRONIC, False),
    ("defect", "D02", None, "Burnt component", "元件烧毁", ELECTRONIC, False),
    ("defect", "D03", None, "Short circuit", "短路", ELECTRONIC, False),
    ("defect", "D04", None, "Open circuit", "开路/断路", ELECTRONIC, False),
    ("defect", "D05", None, "Corrosion or water", "腐蚀/进水", ELECTRONIC + ["HSG"], False),
    ("defect", "D06", None, "Physical damage", "物理损坏", ELECTRONIC + ["HSG"], False),
    ("defect", "D07", None, "Firmware corrupted", "固件损坏", ["FW", "MEM", "MCU"], False),
    ("defect", "D08", None, "Component failed or drifted", "元件失效或参数漂移", ELECTRONIC, False),
    ("defect", "D09", None, "Loose or unseated connector or cable", "接插件或排线松动", ["CON", "LCD", "TP", "KEY", "CAM", "MB"], False),
    ("defect", "D10", None, "Broken flex cable", "排线断裂", ["CON", "LCD", "TP", "KEY", "CAM"], False),
    ("defect", "D11", None, "Bent or pushed-back pin", "针脚弯曲或退针", ["CON", "CAN"], False),
    ("defect", "D12", None, "Cracked panel", "屏幕破裂", ["LCD", "TP"], False),
    ("defect", "D13", None, "Swollen or leaking capacitor", "电容鼓包或漏液", ["PWR", "MB", "CAM", "AMP"], False),
    ("defect", "D14", None, "Static (ESD) damage", "静电损伤", ELECTRONIC, False),
    ("defect", "D15", None, "Calibration or configuration data lost", "校准或配置数据丢失", ["FW", "MEM", "TP"], False),
    ("defect", "D16", None, "Foreign object or contamination", "异物或污染", ELECTRONIC + ["HSG"], False),
    ("defect", "D17", None, "Missing or wrong component", "缺件或错件", ELECTRONIC, False),
    ("defect", "D18", None, "Firmware defect (known issue)", "固件缺陷（已知问题）", ["FW"], False),
    ("defect", "D99", None, "Other", "其他", [], True),

    ("repair", "R01", None, "Replaced component", "更换元件", [], False),
    ("repair", "R02", None, "Resoldered", "补焊", [], False),
    ("repair", "R03", None, "Reflowed (BGA)", "回流焊（BGA重焊）", [], False),
    ("repair", "R04", None, "Cleaned", "清洁", [], False),
    ("repair", "R05", None, "Reflashed firmware", "重新烧录固件", [], False),
    ("repair", "R06", None, "Adjusted or calibrated", "调整/校准", [], False),
    ("repair", "R07", None, "Replaced module or assembly", "更换模块/总成", [], False),
    ("repair", "R08", None, "Reseated and secured", "重新插接并固定", [], False),
    ("repair", "R09", None, "Replaced connector or cable", "更换连接器/排线", [], False),
    ("repair", "R10", None, "No action", "无需处理", [], False),
    ("repair", "R99", None, "Other", "其他", [], True),
]


def _seed_codes() -> None:
    codes = sa.table('bench_codes', sa.column('kind', sa.String), sa.column('code', sa.String),
                     sa.column('parent', sa.String), sa.column('text_en', sa.String), sa.column('text_zh', sa.String),
                     sa.column('sections', sa.JSON), sa.column('needs_note', sa.Boolean),
                     sa.column('active', sa.Boolean))
    op.bulk_insert(codes, [{'kind': kind, 'code': code, 'parent': parent, 'text_en': en, 'text_zh': zh,
                            'sections': sections, 'needs_note': note, 'active': True}
                           for kind, code, parent, en, zh, sections, note in CODES])


def upgrade() -> None:
    op.create_table('bench_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('condition', 'symptom', 'section', 'defect', 'repair', name='codekind', native_enum=False, length=32), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('parent', sa.String(length=16), nullable=True),
    sa.Column('text_en', sa.String(length=200), nullable=False),
    sa.Column('text_zh', sa.String(length=200), nullable=False),
    sa.Column('sections', sa.JSON(), nullable=False),
    sa.Column('needs_note', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bench_codes')),
    sa.UniqueConstraint('kind', 'code', name=op.f('uq_bench_codes_kind'))
    )
    op.create_table('bench_findings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('symptom_code', sa.String(length=16), nullable=True),
    sa.Column('sign', sa.Integer(), nullable=False),
    sa.Column('corrects_id', sa.Integer(), nullable=True),
    sa.Column('nff', sa.Boolean(), nullable=False),
    sa.Column('section_code', sa.String(length=16), nullable=True),
    sa.Column('designator', sa.String(length=16), nullable=True),
    sa.Column('defect_code', sa.String(length=16), nullable=True),
    sa.Column('repair_code', sa.String(length=16), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('technician_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['corrects_id'], ['bench_findings.id'], name=op.f('fk_bench_findings_corrects_id_bench_findings')),
    sa.ForeignKeyConstraint(['model_id'], ['product_models.id'], name=op.f('fk_bench_findings_model_id_product_models')),
    sa.ForeignKeyConstraint(['technician_id'], ['users.id'], name=op.f('fk_bench_findings_technician_id_users')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_bench_findings_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bench_findings'))
    )
    with op.batch_alter_table('bench_findings', schema=None) as batch_op:
        batch_op.create_index('ix_bench_findings_suggest', ['model_id', 'symptom_code', 'defect_code', 'repair_code', 'section_code', 'designator', 'sign', 'visit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bench_findings_visit_id'), ['visit_id'], unique=False)

    op.create_table('bench_labour',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('technician_id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end_kind', sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(['technician_id'], ['users.id'], name=op.f('fk_bench_labour_technician_id_users')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_bench_labour_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bench_labour'))
    )
    with op.batch_alter_table('bench_labour', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bench_labour_visit_id'), ['visit_id'], unique=False)
        batch_op.create_index('uq_bench_labour_one_running', ['technician_id'], unique=True, sqlite_where=sa.text('ended_at IS NULL'), postgresql_where=sa.text('ended_at IS NULL'))

    op.create_table('bench_photos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], name=op.f('fk_bench_photos_added_by_id_users')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_bench_photos_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bench_photos'))
    )
    with op.batch_alter_table('bench_photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bench_photos_visit_id'), ['visit_id'], unique=False)

    op.create_table('repair_cards',
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('technician_id', sa.Integer(), nullable=True),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('condition_code', sa.String(length=16), nullable=True),
    sa.Column('symptom_code', sa.String(length=16), nullable=True),
    sa.Column('complaint_note', sa.Text(), nullable=True),
    sa.Column('decision', sa.String(length=16), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_repair_cards_decided_by_id_users')),
    sa.ForeignKeyConstraint(['model_id'], ['product_models.id'], name=op.f('fk_repair_cards_model_id_product_models')),
    sa.ForeignKeyConstraint(['technician_id'], ['users.id'], name=op.f('fk_repair_cards_technician_id_users')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_repair_cards_visit_id_visits')),
    sa.PrimaryKeyConstraint('visit_id', name=op.f('pk_repair_cards'))
    )
    with op.batch_alter_table('repair_cards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_repair_cards_decided_at'), ['decided_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_repair_cards_technician_id'), ['technician_id'], unique=False)

    op.create_table('bench_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('damage', 'scrap', 'waiver', name='requestkind', native_enum=False, length=32), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=True),
    sa.Column('damage', sa.Enum('water', 'impact', 'seal', 'other', name='damage', native_enum=False, length=32), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('approved', sa.Boolean(), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['visit_alerts.id'], name=op.f('fk_bench_requests_alert_id_visit_alerts')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_bench_requests_decided_by_id_users')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_bench_requests_requested_by_id_users')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_bench_requests_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bench_requests'))
    )
    with op.batch_alter_table('bench_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bench_requests_decided_at'), ['decided_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_bench_requests_visit_id'), ['visit_id'], unique=False)

    install_ledger_guard('bench_findings')
    harden_ledger_guard('bench_findings', [['id']])
    _seed_codes()


def downgrade() -> None:
    drop_ledger_guard('bench_findings')
    op.execute("DELETE FROM ledger_heads WHERE ledger = 'bench_findings'")
    with op.batch_alter_table('bench_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bench_requests_visit_id'))
        batch_op.drop_index(batch_op.f('ix_bench_requests_decided_at'))

    op.drop_table('bench_requests')
    with op.batch_alter_table('repair_cards', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_repair_cards_technician_id'))
        batch_op.drop_index(batch_op.f('ix_repair_cards_decided_at'))

    op.drop_table('repair_cards')
    with op.batch_alter_table('bench_photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bench_photos_visit_id'))

    op.drop_table('bench_photos')
    with op.batch_alter_table('bench_labour', schema=None) as batch_op:
        batch_op.drop_index('uq_bench_labour_one_running', sqlite_where=sa.text('ended_at IS NULL'), postgresql_where=sa.text('ended_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_bench_labour_visit_id'))

    op.drop_table('bench_labour')
    with op.batch_alter_table('bench_findings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bench_findings_visit_id'))
        batch_op.drop_index('ix_bench_findings_suggest')

    op.drop_table('bench_findings')
    op.drop_table('bench_codes')
