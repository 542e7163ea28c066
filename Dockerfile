# Staycurrent: one image for every role (migrate, api, worker); the command picks the role.
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, from the lock (exact versions `make lock` wrote), so code changes do not
# reinstall them.
COPY requirements.lock ./
RUN pip install --no-deps -r requirements.lock

COPY pyproject.toml README.md feeds.yaml ./
COPY service ./service
RUN pip install --no-deps . \
    && useradd --create-home --uid 10001 staycurrent \
    && mkdir -p /app/data && chown staycurrent /app/data

USER staycurrent

# Configuration comes only from the environment (STAYCURRENT_*); no secret is baked in.
ENV STAYCURRENT_HOST=0.0.0.0 \
    STAYCURRENT_PORT=8000 \
    STAYCURRENT_FEEDS_FILE=/app/feeds.yaml \
    STAYCURRENT_LOG_FORMAT=json

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"

ENTRYPOINT ["staycurrent"]
CMD ["api"]
