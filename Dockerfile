# Mitmachbot: slim Python, non-root, dependencies from the lock file, translations compiled at
# build time. The steps are the ones scripts/setup.sh runs, so the image behaves like a README
# install.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATABASE_URL=sqlite+aiosqlite:////app/data/mitmachbot.db

RUN useradd --create-home --uid 10001 mitmachbot
WORKDIR /app

# The locked dependencies first: this layer is rebuilt only when the lock changes, not with
# every change to the code. (The time zones come from the tzdata package in the lock:
# python:3.11-slim has no /usr/share/zoneinfo.)
COPY requirements/app.txt ./requirements/app.txt
RUN python -m venv .venv \
    && .venv/bin/python -m pip install --no-cache-dir --quiet -r requirements/app.txt

COPY pyproject.toml README.md babel.cfg ./
COPY bot ./bot
COPY handlers ./handlers
COPY models ./models
COPY jobs ./jobs
COPY locales ./locales
COPY migrations ./migrations
COPY scripts ./scripts
# So that `docker compose run --rm bot mitmachbot import examples/kv-musterstadt.yaml` works.
COPY examples ./examples

# Same as scripts/setup.sh: the lock (already installed above), the package, compiled catalogs.
# /app/data holds the SQLite database when DATABASE_URL isn't PostgreSQL: mount a volume there
# (no VOLUME here, which would give every container an anonymous volume, used or not).
RUN bash scripts/setup.sh \
    && mkdir -p /app/data \
    && chown -R mitmachbot:mitmachbot /app/data

USER mitmachbot
ENV PATH="/app/.venv/bin:$PATH"
EXPOSE 8080

# Asks the running bot: /readyz on WEBHOOK_LISTEN answers 200 while the database answers and
# updates arrive (scripts/healthcheck.py, standard library only: no bot imports, no call to
# Telegram). The start period covers start-up's own wait for the database and Telegram
# (STARTUP_WAIT_SECONDS, default 300). Needs WEBHOOK_LISTEN set (the default 0.0.0.0:8080).
HEALTHCHECK --interval=30s --timeout=10s --start-period=300s --retries=3 \
    CMD ["python", "/app/scripts/healthcheck.py"]

CMD ["mitmachbot", "run"]
