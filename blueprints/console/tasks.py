"""Console pages for the task centre's tasks: the list, adding one, changing one and switching it off (the
API's schemas and audited services)."""
from flask import g, url_for
from marshmallow import Schema

from blueprints.admin.tasks import TaskChangesSchema, TaskSchema
from blueprints.console.base import answer_form, bp, menu_entry, operator_page, render
from blueprints.console.forms import submit
from blueprints.console.i18n import words
from blueprints.console.sections import Section, button, edit_form, new_form, page
from services.tasks import definitions

words({"Tasks": "任务", "New task": "新增任务", "Edit task": "编辑任务", "Switch off": "停用",
       "Switch the task off": "停用任务", "code": "代码", "title": "标题", "icon": "图标", "event": "事件",
       "target": "目标次数", "condition": "条件", "reward_points": "奖励积分", "reward_growth": "奖励成长值",
       "reward_pack_id": "奖励券包 ID", "tiers": "阶梯奖励", "sort_order": "排序", "page": "跳转页面",
       "enabled": "启用", "client_reportable": "允许前端上报", "newbie": "新手任务", "daily": "每日任务",
       "weekly": "每周任务", "monthly": "每月任务", "achievement": "成就任务",
       "Rewards already claimed never change; its claims stay.": "已领取的奖励不会改变，领取记录保留。"})

TASK_COLUMNS = ("id", "code", "title", "kind", "event", "target", "reward_points", "reward_growth", "enabled")


@bp.get("/tasks")
@menu_entry("Configuration", "Tasks")
@operator_page
def task_list():
    return render("config.html", **_page())


@bp.post("/tasks")
@operator_page(write=True)
def create_task():
    _, form = submit(TaskSchema(), lambda args: definitions.create_task(g.operator, args))
    return answer_form(form, done=url_for("console.task_list"), page="config.html", **_page(form))


@bp.get("/tasks/<int:task_id>")
@operator_page
def task_detail(task_id):
    return render("config.html", **_detail(task_id))


@bp.post("/tasks/<int:task_id>")
@operator_page(write=True)
def change_task(task_id):
    definitions.get_task(task_id)
    _, form = submit(TaskChangesSchema(), lambda args: definitions.update_task(g.operator, task_id, args),
                     partial=True)
    return answer_form(form, done=url_for("console.task_detail", task_id=task_id), page="config.html",
                       **_detail(task_id, form))


@bp.post("/tasks/<int:task_id>/disable")
@operator_page(write=True)
def disable_task(task_id):
    definitions.get_task(task_id)
    _, form = submit(Schema(), lambda _: definitions.disable_task(g.operator, task_id))
    return answer_form(form, done=url_for("console.task_detail", task_id=task_id), page="config.html",
                       **_detail(task_id, disabling=form))


def _page(new=None) -> dict:
    return page("Tasks", Section("Tasks", rows=definitions.all_tasks(), columns=TASK_COLUMNS,
                                 link=("console.task_detail", "task_id")),
                Section("New task", form=new or new_form(TaskSchema()), action=url_for("console.create_task")))


def _detail(task_id: int, changed=None, disabling=None) -> dict:
    task = definitions.get_task(task_id)
    return page("Tasks", Section("Edit task", form=edit_form(TaskChangesSchema(), task, changed), submit="Save",
                                 action=url_for("console.change_task", task_id=task_id),
                                 note="Rewards already claimed never change; its claims stay."),
                Section("Switch the task off", form=button(disabling), submit="Switch off",
                        action=url_for("console.disable_task", task_id=task_id)) if task.enabled else None,
                subtitle=f"#{task.id} · {task.title}", back=url_for("console.task_list"))
