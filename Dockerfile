# syntax=docker/dockerfile:1
# The logfleet image: one image for every part (shipper, processor, indexer, setup, audit, status);
# the command picks the part: `docker run logfleet:0.1.0 processor run`.
#
# Build:  docker build -t logfleet:0.1.0 .
# Checked statically by tests/test_deploy.py where no Docker build is possible (the CI machines
# reach no image registry, so the base image cannot be pulled there).

# --- build stage: install the package and its dependencies into a venv -------------------------
FROM python:3.11.10-slim-bookworm AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# A C compiler for mypyc, which compiles the processor's per-line modules (setup.py).
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/logfleet/venv
WORKDIR /src
# The metadata first, so the dependency layer is rebuilt only when pyproject.toml changes.
COPY pyproject.toml setup.py README.md ./
COPY logfleet ./logfleet
COPY shipper ./shipper
COPY processor ./processor
COPY indexer ./indexer
RUN /opt/logfleet/venv/bin/pip install . \
 && /opt/logfleet/venv/bin/logfleet --version
# `logfleet setup` reads the templates from schemas/, `logfleet setup kibana` the saved objects from
# kibana/; outside the repository layout they are found through LOGFLEET_SCHEMAS_DIR and
# LOGFLEET_KIBANA_OBJECTS (set below).
COPY schemas /opt/logfleet/schemas
COPY kibana/logfleet.ndjson /opt/logfleet/kibana/logfleet.ndjson

# --- runtime stage: the venv and the data files, no compiler, no pip cache -----------------------
FROM python:3.11.10-slim-bookworm AS runtime

RUN groupadd --system --gid 10001 logfleet \
 && useradd --system --uid 10001 --gid logfleet --home-dir /var/lib/logfleet --shell /usr/sbin/nologin logfleet \
 && install -d -o logfleet -g logfleet -m 0750 /var/lib/logfleet
COPY --from=build /opt/logfleet /opt/logfleet

ENV PATH=/opt/logfleet/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    LOGFLEET_SCHEMAS_DIR=/opt/logfleet/schemas \
    LOGFLEET_KIBANA_OBJECTS=/opt/logfleet/kibana/logfleet.ndjson \
    LOGFLEET_STATE_DIR=/var/lib/logfleet \
    LOGFLEET_METRICS_PORT=9464

# Not root. The shipper reads the Docker socket: give it the socket's group at run time
# (`--group-add <gid of /var/run/docker.sock>`, compose: group_add), never root.
USER logfleet
WORKDIR /var/lib/logfleet
EXPOSE 9464

# Every daemon answers /healthz on the metrics port (200 healthy, 503 not); one-shot commands
# (setup, audit, status) serve nothing, so compose disables the check for them.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('LOGFLEET_METRICS_PORT', '9464'), timeout=4)"]

ENTRYPOINT ["logfleet"]
CMD ["--help"]
