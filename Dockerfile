# statusweb: the status page with its runner. Configure with environment variables
# (see production.ini); mount a volume on /app/var for the default SQLite database.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
RUN groupadd --system --gid 10001 statusweb \
    && useradd --system --uid 10001 --gid statusweb --home-dir /app statusweb

COPY setup.cfg pyproject.toml README.md constraints.txt ./
COPY src ./src
COPY plugins ./plugins
# These are this repository's own packages; their dependencies are pinned to the versions
# CI ran by constraints.txt.
# hadolint ignore=DL3013
RUN pip install -c constraints.txt ".[web]" ./plugins/statuscore-tls ./plugins/statuscore-tcp \
    ./plugins/statuscore-dns ./plugins/statuscore-db ./plugins/statuscore-grpc \
    ./plugins/statuscore-icmp ./plugins/statuscore-domain

COPY production.ini ./
COPY examples ./examples
RUN mkdir -p /app/var && chown 10001:10001 /app/var

USER 10001:10001
EXPOSE 6543
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:6543/healthz', timeout=4).status == 200 else 1)"]
CMD ["sh", "-c", "statusweb-admin bootstrap production.ini && exec pserve production.ini"]
