"""Admin page: import organisations and their leads from a CSV file."""

from __future__ import annotations

from flask import render_template
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired, FileSize

from app.accounts.permissions import acting_user
from app.admin.blueprint import bp
from app.models import Role
from app.organizations import onboarding
from app.organizations.onboarding import ImportInvalid

INVALID = 422


class ImportForm(FlaskForm):
    file = FileField(
        _l("CSV file"),
        validators=[
            FileRequired(message=_l("Choose the CSV file to import.")),
            FileSize(
                max_size=onboarding.MAX_FILE_BYTES,
                message=_l("The file is larger than 5 MB."),
            ),
        ],
    )


@bp.route("/organizations/import", methods=["GET", "POST"])
@login_required
def import_organizations():  # noqa: ANN201
    acting_user(current_user.id, Role.ADMIN)
    form = ImportForm()
    result, faults, status = None, [], 200
    if form.is_submitted():
        status = INVALID
        if form.validate():
            try:
                result = onboarding.import_organizations(current_user.id, form.file.data.read())
                status = 200
            except ImportInvalid as error:
                form.file.errors.append(error.message)
                faults = error.rows
    return render_template(
        "admin/import_organizations.html",
        form=form,
        result=result,
        faults=faults,
        columns=onboarding.COLUMNS,
        required=onboarding.REQUIRED,
    ), status
