# Staycurrent: one image for every role (migrate, api, worker); the command picks the role.
# Python 3.11: the version requirements.lock is resolved for (`make lock`).

# -- build: the project as a wheel (code, migrations, digest templates); no tools reach the image.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY service ./service
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

# -- run
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, exactly the versions in the lock, so a code change does not reinstall them.
COPY requirements.lock ./
RUN pip install --no-deps -r requirements.lock

COPY --from=build /wheels /wheels
RUN pip install --no-deps /wheels/*.whl \
    && rm -rf /wheels \
    && useradd --create-home --uid 10001 staycurrent \
    && mkdir -p /app/data \
    && chown staycurrent /app/data
COPY feeds.yaml ./

USER staycurrent

# Configuration comes only from the environment (STAYCURRENT_*, see the README's table); no
# secret is baked in: STAYCURRENT_SECRET_KEY and the rest are given when the container starts.
ENV STAYCURRENT_HOST=0.0.0.0 \
    STAYCURRENT_PORT=8000 \
    STAYCURRENT_FEEDS_FILE=/app/feeds.yaml \
    STAYCURRENT_DATA_DIR=/app/data \
    STAYCURRENT_LOG_FORMAT=json

EXPOSE 8000
# For the api role (compose turns it off for migrate and worker): the process answers /healthz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; url = 'http://127.0.0.1:%s/healthz' % os.environ.get('STAYCURRENT_PORT', '8000'); sys.exit(0 if urllib.request.urlopen(url, timeout=4).status == 200 else 1)"]

ENTRYPOINT ["staycurrent"]
CMD ["api"]
