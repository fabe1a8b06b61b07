#!/usr/bin/env bash
# Build rsyslog's imdocker module for the benchmark peer (`logfleet bench shipper --peer rsyslog`).
#
# Debian ships rsyslog and omkafka (rsyslog-kafka) but builds rsyslog without imdocker, the input
# that reads container logs through the Docker Engine API. This script installs rsyslog,
# rsyslog-kafka and the build dependencies from Debian, fetches Debian's own source package of
# the installed rsyslog version (patches applied by dpkg-source), configures it with imdocker and
# builds only contrib/imdocker. The module lands in $LOGFLEET_PEERS_DIR (default
# /var/tmp/logfleet-peers)/rsyslog-<version>/imdocker.so, whose path is printed on stdout.
# Idempotent: a module already built for the installed version is printed and nothing else runs.
# Run as root on Debian bookworm. Not part of CI (the benchmark is not run there).
set -euo pipefail

cache="${LOGFLEET_PEERS_DIR:-/var/tmp/logfleet-peers}"
log() { echo "build-rsyslog-imdocker: $*" >&2; }

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }

need=()
for pkg in rsyslog rsyslog-kafka libcurl4-openssl-dev libestr-dev libfastjson-dev zlib1g-dev uuid-dev \
           pkg-config build-essential dpkg-dev; do
    installed "$pkg" || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
    log "installing Debian packages: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    # Debian's policy-rc.d (when present) keeps the system rsyslog from starting; the benchmark
    # runs its own rsyslogd in the foreground with a private configuration and work directory.
    apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi

version="$(dpkg-query -W -f='${Version}' rsyslog)"
upstream="${version%%-*}"
dest="$cache/rsyslog-$version"
module="$dest/imdocker.so"
if [ -f "$module" ]; then
    echo "$module"
    exit 0
fi

# apt-get source needs deb-src entries: use the machine's own Debian sources, as deb-src, in a
# private apt state directory (the system's apt configuration is left as it is).
apt_dir="$cache/apt"
mkdir -p "$apt_dir/parts" "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
rm -f "$apt_dir/parts/"*
for src in /etc/apt/sources.list.d/*.sources; do
    [ -f "$src" ] || continue
    grep -q '^URIs:.*debian' "$src" || continue
    sed 's/^Types:.*$/Types: deb-src/' "$src" >"$apt_dir/parts/$(basename "$src")"
done
if [ -f /etc/apt/sources.list ]; then
    sed -n 's/^deb \(.*debian.*\)$/deb-src \1/p' /etc/apt/sources.list >"$apt_dir/parts/from-sources.list"
fi
apt_opts=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$apt_dir/parts"
          -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache")

work="$cache/build-$version"
srcdir="$work/rsyslog-$upstream"
if [ ! -f "$srcdir/configure" ]; then
    apt-get -qq "${apt_opts[@]}" update >&2
    # The installed version first; if the mirror does not serve its source (security updates'
    # sources can be missing), another Debian revision of the same upstream release: imdocker
    # is then built from the same upstream code and loads into the installed rsyslogd.
    candidates=("$version")
    while read -r other; do
        [ "$other" != "$version" ] && [ "${other%%-*}" = "$upstream" ] && candidates+=("$other")
    done < <(apt-cache "${apt_opts[@]}" showsrc rsyslog 2>/dev/null | sed -n 's/^Version: //p' | sort -rV)
    fetched=""
    for candidate in "${candidates[@]}"; do
        log "fetching Debian's source package rsyslog=$candidate"
        rm -rf "$work"
        mkdir -p "$work"
        # dpkg-source -x (run by apt-get source) unpacks the .orig tarball and applies debian/patches
        if (cd "$work" && apt-get -qq -o APT::Sandbox::User=root "${apt_opts[@]}" source "rsyslog=$candidate" >&2); then
            fetched="$candidate"
            break
        fi
        log "the source of rsyslog=$candidate cannot be fetched here"
    done
    [ -n "$fetched" ] || { log "no Debian source package of rsyslog $upstream could be fetched"; exit 1; }
    [ "$fetched" = "$version" ] || log "building from rsyslog=$fetched (same upstream $upstream as the installed $version)"
fi

cd "$srcdir"
if [ ! -f contrib/imdocker/Makefile ]; then
    log "configuring rsyslog $upstream with imdocker"
    ./configure --enable-imdocker --disable-libgcrypt --disable-liblogging-stdlog --disable-default-tests \
        --disable-imjournal --disable-omjournal --disable-generate-man-pages --disable-fmhttp >"$work/configure.log" 2>&1 \
        || { log "configure failed, see $work/configure.log"; tail -20 "$work/configure.log" >&2; exit 1; }
fi
log "building contrib/imdocker"
make -C contrib/imdocker -j"$(nproc)" >"$work/make.log" 2>&1 \
    || { log "make failed, see $work/make.log"; tail -20 "$work/make.log" >&2; exit 1; }

mkdir -p "$dest"
cp contrib/imdocker/.libs/imdocker.so "$module.tmp"
mv "$module.tmp" "$module"
log "built imdocker for rsyslog $version"
echo "$module"
