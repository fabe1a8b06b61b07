#!/usr/bin/env bash
# Install what logfleet needs on a Debian bookworm machine, as root: Debian's docker.io and static
# busybox (for the local stack's test image), Java 17 and Maven (the local stack's Apache Kafka and
# OpenSearch run from their own jars on Maven Central), then a virtualenv in .venv with logfleet and
# its test extras (the processor's per-line modules compiled with mypyc), and those jars resolved once
# into ~/.cache/logfleet. Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v dockerd >/dev/null 2>&1 || [ -x /usr/sbin/dockerd ] || need+=(docker.io)
# the image local/busybox:1 needs the static build (a dynamic busybox cannot run inside it)
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' || need+=(busybox-static)
command -v python3 >/dev/null 2>&1 || need+=(python3)
# Kafka 4 needs Java 17 or newer (bookworm's default JRE is 17)
java_ok() { command -v java >/dev/null 2>&1 && java -version 2>&1 | grep -Eq 'version "(1[7-9]|[2-9][0-9])'; }
java_ok || need+=(default-jre-headless)
command -v mvn >/dev/null 2>&1 || need+=(maven)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need+=(python3-venv)
# the processor's per-line modules are compiled with mypyc at install (setup.py): a C compiler and
# Python's headers (LOGFLEET_PURE_PYTHON=1 installs them as plain Python instead)
if [ "${LOGFLEET_PURE_PYTHON:-}" != "1" ]; then
    command -v gcc >/dev/null 2>&1 || need+=(gcc)
    python3 -c 'import os, sysconfig; assert os.path.exists(sysconfig.get_paths()["include"] + "/Python.h")' \
        >/dev/null 2>&1 || need+=(python3-dev)
fi
if [ "${#need[@]}" -gt 0 ]; then
    echo "installing Debian packages: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -c 'import sys; assert sys.version_info >= (3, 11), sys.version'
# the venv's bundled pip and setuptools are old releases with published advisories (pip-audit in CI)
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip setuptools
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
# the local stack's Kafka (stack/kafka/pom.xml) and OpenSearch (stack/opensearch/pom.xml): resolved
# and built once, later runs reuse them
.venv/bin/python -c 'from logfleet.devstack import kafka_node; print("kafka jars:", kafka_node.resolve())'
.venv/bin/python -m logfleet.devstack.opensearch_node build >/dev/null
echo "installed: $(.venv/bin/logfleet --version), OpenSearch node in $(.venv/bin/python -c \
    'from logfleet.devstack.opensearch_node import cache_dir; print(cache_dir())')"
