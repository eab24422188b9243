"""gunicorn's settings that depend on the environment, read at its start (the Dockerfile's
`--config python:app.gunicorn_config`): in production its own lines are JSON, like the app's."""

from __future__ import annotations

from app.config import Settings
from app.logs import gunicorn_log_config

if Settings.from_env().is_production:
    logconfig_dict = gunicorn_log_config()
