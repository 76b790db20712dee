#!/usr/bin/env bash
# revenant's one entry point: installs what the build needs, builds, runs.
#
#   bash dev.sh demo      set up, build, run the demos (closures across two processes; a bank
#                         actor; the durable bank killed with SIGKILL and recovered)
#   bash dev.sh test      set up, build, run the test suite (what CI runs)
#   bash dev.sh asan      the suite under AddressSanitizer + UBSan, leak checks on
#   bash dev.sh tsan      the suite under ThreadSanitizer
#   bash dev.sh torture   the crash torture: REVENANT_TORTURE_KILLS (default 200) SIGKILLs
#   bash dev.sh bench     the benchmarks, side by side with their peers
set -euo pipefail
cd "$(dirname "$0")"

# Debian packages the build and tests need; benchmarks add their peers.
CORE_PACKAGES=(cmake ninja-build g++ ccache libasio-dev libcereal-dev librocksdb-dev catch2 libbenchmark-dev)
BENCH_PACKAGES=(libcaf-dev python3 python3-cloudpickle)

ensure_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "dev.sh: installing ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
}

# build <preset> [target...]: configures and builds the preset (only the targets, if named).
build() {
  local preset="$1"
  shift
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" ${1:+--target "$@"}
}

# ThreadSanitizer (gcc 12) cannot map its shadow memory when the kernel randomises mmap with
# more than 28 bits; running without address randomisation avoids that.
no_aslr() {
  if [ "$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 28)" -gt 28 ] && command -v setarch >/dev/null; then
    setarch "$(uname -m)" -R "$@"
  else
    "$@"
  fi
}

case "${1:-}" in
  demo)
    ensure_packages "${CORE_PACKAGES[@]}"
    build release seed bank durable_bank  # only what the demo runs: no tests, no benchmarks
    snapshot="$(mktemp -d)/seed.snapshot"
    ./build/release/examples/seed save "$snapshot"
    ./build/release/examples/seed load "$snapshot"
    echo
    ./build/release/examples/bank
    echo
    ./build/release/examples/durable_bank demo "$(mktemp -d)/bank.db"
    ;;
  test)
    ensure_packages "${CORE_PACKAGES[@]}"
    build release
    ctest --preset release
    ;;
  asan)
    ensure_packages "${CORE_PACKAGES[@]}"
    build asan
    ctest --preset asan
    ;;
  tsan)
    ensure_packages "${CORE_PACKAGES[@]}"
    build tsan
    no_aslr ctest --preset tsan
    ;;
  torture)
    ensure_packages "${CORE_PACKAGES[@]}"
    build release
    REVENANT_TORTURE_KILLS="${REVENANT_TORTURE_KILLS:-200}" ctest --test-dir build/release -L torture --output-on-failure
    ;;
  bench)
    ensure_packages "${CORE_PACKAGES[@]}" "${BENCH_PACKAGES[@]}"
    build release
    bash benchmarks/run.sh build/release
    ;;
  *)
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
    exit 64
    ;;
esac
