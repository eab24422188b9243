"""Templates translate in the request's language, and in a language forced inside it (a mail
rendered for its recipient), with the catalogue looked up once per locale."""

from __future__ import annotations

from flask import render_template_string
from flask_babel import force_locale

from app import create_app


def test_a_template_speaks_the_request_language_and_a_forced_one_inside_it(tmp_path):
    app = create_app({"env": "test", "instance_path": str(tmp_path), "database_url": ""})
    template = "{{ _('Draft saved.') }}"
    with app.test_request_context("/", headers={"Accept-Language": "es"}):
        assert render_template_string(template) == "Borrador guardado."
        with force_locale("fr"):
            assert render_template_string(template) == "Brouillon enregistré."
        assert render_template_string(template) == "Borrador guardado."
    with app.test_request_context("/", headers={"Accept-Language": "fr"}):
        assert render_template_string(template) == "Brouillon enregistré."
    with app.app_context():  # no request: the default language
        assert render_template_string(template) == "Draft saved."
