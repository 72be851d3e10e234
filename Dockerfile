# Mitmachbot: slim Python, non-root, translations compiled at build time.
# The steps are the ones scripts/setup.sh runs, so the image behaves like a README install.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATABASE_URL=sqlite+aiosqlite:////app/data/mitmachbot.db

RUN useradd --create-home --uid 10001 mitmachbot
WORKDIR /app

COPY pyproject.toml README.md babel.cfg ./
COPY bot ./bot
COPY handlers ./handlers
COPY models ./models
COPY jobs ./jobs
COPY locales ./locales
COPY migrations ./migrations
COPY scripts ./scripts

# Same as scripts/setup.sh: a virtualenv in .venv, the package, compiled catalogs.
RUN bash scripts/setup.sh \
    && mkdir -p /app/data \
    && chown -R mitmachbot:mitmachbot /app/data

USER mitmachbot
ENV PATH="/app/.venv/bin:$PATH"
VOLUME ["/app/data"]
EXPOSE 8080

# The start period covers start-up's own wait for the database and Telegram
# (STARTUP_WAIT_SECONDS, default 300).
HEALTHCHECK --interval=60s --timeout=20s --start-period=300s --retries=3 \
    CMD ["mitmachbot", "check"]

CMD ["mitmachbot", "run"]
