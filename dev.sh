#!/usr/bin/env bash
# revenant's one entry point: installs what the build needs, builds, runs.
#
#   bash dev.sh demo      set up, build, run the demos (closures across two processes; a bank
#                         actor; the durable bank killed with SIGKILL and recovered; two nodes,
#                         one killed, exactly once between them; actors moving between two
#                         processes under load)
#   bash dev.sh test      set up, build, run the test suite (what CI runs)
#   bash dev.sh asan      the suite under AddressSanitizer + UBSan, leak checks on
#   bash dev.sh tsan      the suite under ThreadSanitizer
#   bash dev.sh torture   the crash torture: REVENANT_TORTURE_KILLS (default 200) SIGKILLs, and
#                         the three-node bank: REVENANT_NODE_TORTURE_KILLS (default 150), also
#                         with random migrations
#   bash dev.sh bench     the benchmarks, side by side with their peers
#   bash dev.sh fuzz      the decoders' libFuzzer targets, REVENANT_FUZZ_SECONDS (default 300) each
set -euo pipefail
cd "$(dirname "$0")"

# Debian packages the build and tests need; benchmarks add their peers.
CORE_PACKAGES=(cmake ninja-build g++ ccache libasio-dev libssl-dev libcereal-dev librocksdb-dev catch2 libbenchmark-dev)
BENCH_PACKAGES=(libcaf-dev python3 python3-cloudpickle)
# The fuzz targets need clang and its runtimes (libFuzzer, AddressSanitizer, UBSan).
FUZZ_PACKAGES=(clang libclang-rt-14-dev)
FUZZ_TARGETS=(image_fuzzer closure_graph_fuzzer envelope_fuzzer actor_record_fuzzer mailbox_key_fuzzer wal_fuzzer wire_fuzzer outbox_value_fuzzer
              migration_package_fuzzer)

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

# True when clang++ can link a libFuzzer target here (checked without installing anything).
fuzz_toolchain_present() {
  command -v clang++ >/dev/null 2>&1 || return 1
  local dir status=1
  dir="$(mktemp -d)"
  printf 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n' >"$dir/probe.cpp"
  if clang++ -fsanitize=fuzzer,address,undefined "$dir/probe.cpp" -o "$dir/probe" >/dev/null 2>&1; then status=0; fi
  rm -rf "$dir"
  return $status
}

# Runs one fuzz target for $2 seconds from its seeds and its corpus (build/fuzz/corpus/<target>,
# grown as it finds new inputs). A crash, a sanitizer report, a leak, an allocation of 64 MB or
# more (a forged length), more than 2 GB resident or an input taking over 10 s is a finding: the
# input lands in build/fuzz/findings/ and the target fails.
fuzz_target() {
  local target="$1" seconds="$2" log="build/fuzz/logs/$1.log"
  mkdir -p "build/fuzz/corpus/$target" build/fuzz/findings build/fuzz/logs
  if "./build/fuzz/fuzz/$target" -max_total_time="$seconds" -max_len=8192 -timeout=10 \
       -malloc_limit_mb=64 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="build/fuzz/findings/$target-" \
       "build/fuzz/corpus/$target" "build/fuzz/seeds/$target" >"$log" 2>&1; then
    echo "fuzz: $target: $(grep -m1 -o 'Done [0-9]* runs in [0-9]* second(s)' "$log"), nothing found"
  else
    echo "fuzz: $target FOUND SOMETHING (input in build/fuzz/findings/, full log $log):"
    grep -E 'ERROR|SUMMARY|property broken|Test unit written|out-of-memory|leak' "$log" | head -n 20 || true
    return 1
  fi
}

# Builds the fuzz preset, writes the seed corpus (real encodings, build/fuzz/seeds) and runs
# every target for $1 seconds, as many at once as there are cores. Fails if any finds something.
run_fuzzers() {
  local seconds="$1" target failed=0 cores
  cores="$(nproc 2>/dev/null || echo 2)"
  build fuzz
  ./build/fuzz/fuzz/revenant_fuzz_seeds build/fuzz/seeds
  rm -f build/fuzz/logs/*.failed
  for target in "${FUZZ_TARGETS[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$cores" ]; do wait -n || true; done
    { fuzz_target "$target" "$seconds" || touch "build/fuzz/logs/$target.failed"; } &
  done
  wait
  for target in "${FUZZ_TARGETS[@]}"; do [ ! -e "build/fuzz/logs/$target.failed" ] || failed=1; done
  return $failed
}

case "${1:-}" in
  demo)
    ensure_packages "${CORE_PACKAGES[@]}"
    build release seed bank durable_bank node_pair migration_demo  # only what the demo runs: no tests, no benchmarks
    snapshot="$(mktemp -d)/seed.snapshot"
    ./build/release/examples/seed save "$snapshot"
    ./build/release/examples/seed load "$snapshot"
    echo
    ./build/release/examples/bank
    echo
    ./build/release/examples/durable_bank demo "$(mktemp -d)/bank.db"
    echo
    ./build/release/examples/node_pair demo "$(mktemp -d)/nodes"
    echo
    ./build/release/examples/migration_demo demo "$(mktemp -d)/moves"
    ;;
  test)
    ensure_packages "${CORE_PACKAGES[@]}"
    build release
    ctest --preset release
    if fuzz_toolchain_present; then
      echo "dev.sh: running each fuzz target for 10 s (bash dev.sh fuzz runs them at length)"
      run_fuzzers 10
    else
      echo "dev.sh: skipping the fuzz targets: clang++ with libFuzzer is not installed (bash dev.sh fuzz installs it)"
    fi
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
  fuzz)
    ensure_packages "${CORE_PACKAGES[@]}" "${FUZZ_PACKAGES[@]}"
    run_fuzzers "${REVENANT_FUZZ_SECONDS:-300}"
    ;;
  *)
    sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
    exit 64
    ;;
esac
