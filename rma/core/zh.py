"""简体中文 of what the core writes beyond the shell: department settings (see ``rma/i18n.py``)."""

ZH: dict[str, str] = {
    "no department setting {key!r}; settings: {known}": "没有名为 {key!r} 的部门设置；可用设置：{known}",
    "{key} must be {what} from {low} to {high}": "{key} 必须是 {low} 至 {high} 之间的{what}",
    "a whole number": "整数",
    "a number": "数值",
    "change department settings": "修改部门设置",
    "rma.toml sets {key}, which is now a department setting kept in the database and is not read here: set it "
    "once with rma settings set {key} VALUE and remove it from rma.toml.":
        "rma.toml 中设置了 {key}，该项现为保存在数据库中的部门设置，这里不再读取：请用 rma settings set {key} 数值 "
        "设置一次，并从 rma.toml 中删除。",
    # the settings, as the supervisor reads them
    "A unit back within this many days of leaving after repair is a repeat repair": "维修出库后在此天数内再次返回即计为返修",
    "Target turnaround, received to left the depot: head unit": "目标周转天数（接收至出库）：车机",
    "Target turnaround, received to left the depot: navigation": "目标周转天数（接收至出库）：导航",
    "Target turnaround, received to left the depot: dash cam": "目标周转天数（接收至出库）：行车记录仪",
    "Target turnaround, received to left the depot: cluster": "目标周转天数（接收至出库）：仪表",
    "Target turnaround, received to left the depot: ecu": "目标周转天数（接收至出库）：控制器",
    "A count line whose variance is over this share of its quantity needs a recount and approval":
        "盘点差异超过数量的此百分比需复盘并审批",
    "A count line whose variance is worth more than this needs a recount and approval": "盘点差异金额超过此值需复盘并审批",
    "Safety stock: this many times the average monthly issue of the last three months": "安全库存：近三个月平均月发料量的倍数",
    "Cycle count of class A parts every": "A 类物料循环盘点周期",
    "Cycle count of class B parts every": "B 类物料循环盘点周期",
    "Cycle count of class C parts every": "C 类物料循环盘点周期",
    "Remind when a unit waits for the bench over": "待维修超过此天数时提醒",
    "Remind when a unit waits for parts over": "待料超过此天数时提醒",
    "Remind when a unit waits for its test over": "待测试超过此天数时提醒",
    "days": "天",
    "months": "个月",
    "yuan": "元",
    "× monthly issue": "× 月发料量",
    # interception alerts on a visit (intake owns the alerts; the bench and programming close them)
    "Interception done": "拦截措施已执行",
    "Interception waived": "拦截已豁免",
    "plan: {x}": "拦截计划：{x}",
    "done: {x}": "已执行：{x}",
    "why: {x}": "豁免原因：{x}",
    "recorded by the system": "系统自动记录",
    "what was done": "执行情况",
    "why it is waived": "豁免原因",
    "waive interception alerts": "豁免拦截提醒",
    "mark interception alerts done": "标记拦截措施已执行",
    "visit {tag} is closed ({state}): its alerts can no longer change": "维修单 {tag} 已关闭（{state}）：其拦截提醒不能再更改",
    "visit {tag} has no interception alert {alert}": "维修单 {tag} 没有编号为 {alert} 的拦截提醒",
    "the interception alert {alert} of {tag} was already {status} by {who}": "{tag} 的拦截提醒 {alert} 已由 {who} 标记为{status}",
    "done": "已执行",
    "waived": "已豁免",
}
