"""Admin pages: the list of users, with their role and whether their account is active."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.accounts import roles
from app.admin.blueprint import bp
from app.admin.forms import ActivationForm, RoleForm, UserSearchForm, role_labels
from app.models import Role
from app.parsing import id_argument

PAGE_SIZE = 50


@bp.get("/users")
@login_required
def users():  # noqa: ANN201
    search_form = UserSearchForm(request.args)
    search = (search_form.q.data or "").strip() if search_form.validate() else ""
    found = roles.list_users(
        current_user.id, search=search, after=id_argument(request.args, "after"), limit=PAGE_SIZE
    )
    next_after = found[-1].id if len(found) == PAGE_SIZE else None
    # Each row's role select, showing that user's role (the forms post to change_role).
    rows = [(user, RoleForm(formdata=None, role=user.role.value)) for user in found]
    return render_template(
        "admin/users.html",
        rows=rows,
        search=search,
        search_form=search_form,
        next_after=next_after,
        list_args=_list_args(),
    )


@bp.post("/users/<int:user_id>/role")
@login_required
def change_role(user_id: int):  # noqa: ANN201
    form = RoleForm()
    if not form.validate_on_submit():
        abort(400)
    if roles.change_role(current_user.id, user_id, Role(form.role.data)):
        flash(_("Role changed."), "success")
    else:
        flash(
            _("Nothing changed: the role was already %(role)s.", role=role_labels()[form.role.data])
        )
    return redirect(url_for("admin.users", **_list_args()))


@bp.post("/users/<int:user_id>/active")
@login_required
def set_active(user_id: int):  # noqa: ANN201
    form = ActivationForm()
    if not form.validate_on_submit():
        abort(400)
    active = form.active.data == "1"
    if roles.set_active(current_user.id, user_id, active):
        flash(_("Account reactivated.") if active else _("Account deactivated."), "success")
    return redirect(url_for("admin.users", **_list_args()))


def _list_args() -> dict[str, str]:
    """The search and page the admin is on, so that acting on a user brings them back there."""
    return {key: request.args[key] for key in ("q", "after") if request.args.get(key)}
