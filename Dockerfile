# One image for every Python service of docker-compose.yml: web (gunicorn, the default CMD),
# worker, beat and flower (Celery, command overridden in compose) and the one-shot migrate
# service. The `monitoring` extra is Flower.

# The front end (GOV.UK Frontend, the MOJ components, accessible-autocomplete) is built from the
# packages package-lock.json pins, in a stage of its own: the image itself carries no Node.
FROM node:20-slim AS frontend
WORKDIR /build
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=optional --no-audit --no-fund
COPY app/frontend app/frontend
COPY scripts/build-frontend scripts/build-frontend
RUN scripts/build-frontend

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# An unprivileged user with a fixed uid/gid, so volume ownership is predictable.
RUN groupadd --system --gid 10001 consulta \
 && useradd --system --uid 10001 --gid consulta --home-dir /app --shell /usr/sbin/nologin consulta

WORKDIR /app

# The whole repository (minus what .dockerignore excludes): app/, worker/, migrations/, ...
# Every entry point (gunicorn, `flask --app app`, `celery -A worker.celery_app`) runs from /app,
# and `flask db upgrade` finds migrations/ relative to it.
COPY . .
COPY --from=frontend /build/app/static/vendor app/static/vendor

# Compile the message catalogues before installing, so the installed package carries the .mo
# files too. Babel is the same one flask-babel pulls in; it provides `pybabel`.
RUN pip install "babel>=2.15,<3" \
 && if ls app/translations/*/LC_MESSAGES/*.po >/dev/null 2>&1; then \
        pybabel compile -f -d app/translations; \
    fi \
 && pip install ".[monitoring]" \
 && rm -rf build ./*.egg-info \
 && mkdir -p /app/instance/uploads /app/instance/reports \
 && chown -R consulta:consulta /app/instance

ENV CONSULTA_ENV=production \
    INSTANCE_PATH=/app/instance

USER consulta

EXPOSE 5000

# Liveness of the web process. compose overrides it for worker and beat (no HTTP server there)
# and turns it off for the one-shot migrate service.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:5000/healthz', timeout=4).status == 200 else 1)"]

# Two processes for two cores, each with more threads than requests it lets work at once
# (MAX_CONCURRENT_REQUESTS, 24, the size of its database pool): the spare threads answer a surge
# with 503 and Retry-After within OVERLOAD_WAIT_MS instead of leaving it queued. A statement that
# runs past 5 s is cancelled by PostgreSQL (503 too), so no query holds a slot for long; the
# worker and the CLI set no such limit. gunicorn's own lines (start-up, access) are JSON like the
# app's in production (app/gunicorn_config.py). `make bench` starts gunicorn from this very line.
CMD ["gunicorn", "--config", "python:app.gunicorn_config", "--bind", "0.0.0.0:5000", "--workers", "2", "--worker-class", "gthread", "--threads", "40", "--backlog", "512", "--reuse-port", "--timeout", "30", "--graceful-timeout", "25", "--keep-alive", "5", "--env", "CONSULTA_STATEMENT_TIMEOUT_MS=5000", "--access-logfile", "-", "app:create_app()"]
