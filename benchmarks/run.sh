#!/usr/bin/env bash
# Usage: bash benchmarks/run.sh BUILD_DIR
# Runs closure_bench, runtime_bench, durable_bench and the cloudpickle comparison, then prints the
# goal ratios; then remote_bench (remote messaging between two processes), where it was built,
# and migration_bench.
set -euo pipefail

build_dir=${1:?usage: bash benchmarks/run.sh BUILD_DIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
json=$build_dir/closure_bench.json
runtime_json=$build_dir/runtime_bench.json
durable_json=$build_dir/durable_bench.json

"$build_dir/benchmarks/closure_bench" --benchmark_format=console \
  --benchmark_out_format=json --benchmark_out="$json"
"$build_dir/benchmarks/runtime_bench" --benchmark_format=console \
  --benchmark_out_format=json --benchmark_out="$runtime_json"
"$build_dir/benchmarks/durable_bench" --benchmark_format=console \
  --benchmark_out_format=json --benchmark_out="$durable_json"
pickle_line=$(python3 "$here/cloudpickle_seed.py")
echo "$pickle_line"

python3 - "$json" "$pickle_line" "$runtime_json" "$durable_json" <<'PY'
import json, re, sys

# Names carry run options ("closure_graph_1m/revenant/iterations:5"): key by the bare name.
bench = {re.sub(r"/(iterations|min_time|repeats|real_time|manual_time)(:[^/]*)?", "", b["name"]): b
         for path in (sys.argv[1], sys.argv[3], sys.argv[4]) for b in json.load(open(path))["benchmarks"]}
pickle = json.loads(sys.argv[2])

def us_per_op(b):
    scale = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}[b["time_unit"]]
    return b["real_time"] * scale

ratio = bench["closure_graph_1m/revenant"]["items_per_second"] / bench["closure_graph_1m/cereal"]["items_per_second"]
print(f"{'ratio':<46}{'value':>10}  goal")
print(f"{'closure_graph_1m revenant/cereal items/s':<46}{ratio:>10.2f}  >= 0.8")
if "us_per_op" in pickle:
    seed = pickle["us_per_op"] / us_per_op(bench["seed_self_ref/revenant"])
    print(f"{'seed_self_ref cloudpickle_us/revenant_us':<46}{seed:>10.1f}  >= 100")
else:
    print(f"{'seed_self_ref cloudpickle_us/revenant_us':<46}{'skipped':>10}  >= 100")
for scenario in ("pingpong", "fanin", "spawn", "ask"):
    if f"{scenario}/caf" in bench:
        r = bench[f"{scenario}/revenant"]["items_per_second"] / bench[f"{scenario}/caf"]["items_per_second"]
        print(f"{scenario + ' revenant/caf items/s':<46}{r:>10.2f}  >= 1.5")
    else:
        print(f"{scenario + ' revenant/caf items/s':<46}{'no CAF':>10}  >= 1.5")
if "idle_actor_bytes/caf" in bench:
    mine = bench["idle_actor_bytes/revenant"]["bytes_per_actor"]
    theirs = bench["idle_actor_bytes/caf"]["bytes_per_actor"]
    print(f"{'idle actor bytes revenant, caf':<46}{mine:>10.0f}  {theirs:.0f}")
for fsync, label in (("0", "durable_steps"), ("1", "durable_steps fsync")):
    r = (bench[f"durable_steps/revenant/fsync:{fsync}"]["items_per_second"] /
         bench[f"durable_steps/rocksdb/fsync:{fsync}"]["items_per_second"])
    print(f"{label + ' revenant/rocksdb items/s':<46}{r:>10.2f}  >= 0.5")
r = bench["recovery_eager/revenant"]["items_per_second"] / bench["recovery_eager/rocksdb"]["items_per_second"]
print(f"{'recovery_eager revenant/rocksdb items/s':<46}{r:>10.2f}  >= 0.5")
lazy = bench["lazy_first_message/revenant"]["first_message_ms"]
print(f"{'lazy open + first message, ms':<46}{lazy:>10.1f}  < 50")
for side in ("revenant", "rocksdb"):
    b = bench[f"long_run/{side}"]
    print(f"{'long_run ' + side + ' WAL MB, reopen ms':<46}{b['wal_mb']:>10.1f}  {us_per_op(b) / 1e3:.0f}")
PY

# Built only where CAF's io library and OpenSSL are installed (benchmarks/CMakeLists.txt).
if [ -x "$build_dir/benchmarks/remote_bench" ]; then
  "$build_dir/benchmarks/remote_bench" --benchmark_format=console \
    --benchmark_out_format=json --benchmark_out="$build_dir/remote_bench.json"
fi

# The remote goals of issue 11 (docs/benchmarks.md, "Remote messaging").
if [ -f "$build_dir/remote_bench.json" ]; then
  python3 - "$build_dir/remote_bench.json" <<'PY'
import json, re, sys
bench = {re.sub(r"/(iterations|min_time|repeats|real_time|manual_time)(:[^/]*)?", "", b["name"]): b
         for b in json.load(open(sys.argv[1]))["benchmarks"] if "items_per_second" in b}
def ratio(a, b):
    return bench[a]["items_per_second"] / bench[b]["items_per_second"] if a in bench and b in bench else float("nan")
print(f"{'remote_pingpong revenant/asio round trips/s':<46}{ratio('remote_pingpong/revenant', 'remote_pingpong/asio'):>10.2f}  >= 0.5")
print(f"{'remote_pingpong revenant/caf round trips/s':<46}{ratio('remote_pingpong/revenant', 'remote_pingpong/caf'):>10.2f}  >= 8")
print(f"{'remote_pingpong revenant_sleep/caf':<46}{ratio('remote_pingpong/revenant_sleep', 'remote_pingpong/caf'):>10.2f}  (workers that never poll: no goal)")
for n in ("1", "100"):
    print(f"{'remote_ask/' + n + ' revenant/caf requests/s':<46}{ratio('remote_ask/revenant/' + n, 'remote_ask/caf/' + n):>10.2f}  >= 8")
print(f"{'remote_stream revenant/caf msgs/s':<46}{ratio('remote_stream/revenant', 'remote_stream/caf'):>10.2f}  >= 10")
print(f"{'remote_stream revenant/asio msgs/s':<46}{ratio('remote_stream/revenant', 'remote_stream/asio'):>10.2f}  (no goal)")
print(f"{'remote_pingpong revenant_tls/revenant':<46}{ratio('remote_pingpong/revenant_tls', 'remote_pingpong/revenant'):>10.2f}  >= 0.7")
print(f"{'remote_stream revenant_tls/revenant':<46}{ratio('remote_stream/revenant_tls', 'remote_stream/revenant'):>10.2f}  >= 0.7")
# Memory bounded on both sides: the peak resident set sizes of the streams' two processes.
for side in ("revenant", "revenant_tls", "caf", "asio"):
    b = bench.get(f"remote_stream/{side}")
    if b and "sender_peak_rss_MiB" in b:
        label = f"remote_stream/{side} RSS MiB send, recv"
        print(f"{label:<46}{b['sender_peak_rss_MiB']:>10.1f}  {b['receiver_peak_rss_MiB']:.1f}")
PY
fi

# Live migration (issue 12): the pause of a small idle actor (p50 and p99; goals 2 ms and 5 ms),
# a large actor (goal: 10x its raw copy), a drain of 100,000 actors (goal: 10,000 a second) and
# the latency a sender sees while its target moves (goal: p99 3x steady), each beside its floor.
"$build_dir/benchmarks/migration_bench" --benchmark_format=console
