#!/usr/bin/env bash
# Installs everything leancut needs to build, test and benchmark, from Debian 12 packages.
# Idempotent: packages already present are not touched, and apt is not even asked then.
# Run as root (as CI and the quick start do); otherwise it re-runs itself through sudo.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config clang-format
  # FFmpeg 5.1's libraries: demux, decode, filter, scale, resample, encode, mux (libx264 enabled)
  libavformat-dev libavcodec-dev libavfilter-dev libswscale-dev libswresample-dev libavutil-dev
  # JSON (blueprints, progress), command line parsing
  nlohmann-json3-dev libcli11-dev
  # the job server's persistent queue (src/server/job_store): embedded, WAL, nothing to run
  libsqlite3-dev
  # the job server's HTTP API (src/server/http_api): cpp-httplib 0.11, a fixed-size thread pool
  # (bounded threads whatever the load) and Range answered through content providers that
  # stream outputs from disk
  libcpp-httplib-dev
  # remote sources (src/fetch): libcurl downloads; OpenSSL's libcrypto for SHA-256
  libcurl4-openssl-dev libssl-dev
  # promtool, which the metrics tests run on GET /metrics (`promtool check metrics`)
  prometheus
  # text overlays and title cards (libavfilter's drawtext finds fonts through fontconfig;
  # DejaVu Sans is the default font)
  fontconfig fonts-dejavu-core
  # tests and micro-benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # schema test (python3-jsonschema) and the side-by-side benchmark's peers (ffmpeg CLI, melt)
  python3 python3-jsonschema ffmpeg melt time
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  exec sudo "$0" "$@"
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
