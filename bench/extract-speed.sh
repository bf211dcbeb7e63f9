#!/usr/bin/env bash
# Speed of `veil extract` (all feature families on, handshake parsing included) beside ndpiReader, in one run, both
# writing their per-flow output (`ndpiReader -i X -C out.csv`, `veil extract X -o out.csv`), plus tcpdump's plain
# read as the I/O floor. Per capture, RUNS rounds; in each round every tool runs once, back to back, so a load change
# on this shared machine hits them alike, and every ratio is taken within one round (the spread quoted is over
# rounds). Also measured in each round: `--workers 2` (packets per wall-second against one worker), Parquet output
# (CPU-s and peak RSS against CSV), and the start-up cost of an invocation that meters nothing (a 109-packet capture).
# Before any timing: the flows of every capture in ../shared/data/ndpi (CSV and JSONL, one invocation each) are
# compared byte for byte with those of BASE_REV (default: the merge base with main), built in a temporary tree.
#
# usage: bench/extract-speed.sh [CAPTURE...]
#        (default: the 20- and 40-copy real-traffic mixes and the loopback capture under $DATA, built with
#        ../shared/bench/make-mix-pcap.sh and make-loopback-pcap.sh when missing; the loopback one needs root, ~10 min)
# env:   RUNS (default 3), DATA (default /work/bench-data), BASE_REV, NO_IDENTICAL=1 skips the identity check
# Needs Debian's tshark (capinfos) tcpdump libndpi-bin tcpreplay, and ethtool to build the loopback capture.
set -euo pipefail
# On a shared machine, raise this session's scheduling group above the other sessions' (Linux autogroups; needs
# root): every tool below runs in this same group, so they compete only with each other, as on a quiet machine.
[ -n "${NO_AUTOGROUP:-}" ] || { echo -20 > /proc/self/autogroup; } 2>/dev/null || true
HERE=$(cd "$(dirname "$0")" && pwd); ROOT=$(cd "$HERE/.." && pwd)
SHARED=${SHARED:-$ROOT/../shared}
[ -d "$SHARED/bench" ] || SHARED=/work/shared
DATA=${DATA:-/work/bench-data}
RUNS=${RUNS:-3}
NDPI_DATA=$SHARED/data/ndpi/pcap
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
node "$ROOT/scripts/build.mjs" > /dev/null # the bench measures the installed build (dist/), as `npm ci` leaves it
VEIL="node $ROOT/bin/veil.js"

if [ -z "${NO_IDENTICAL:-}" ] && [ -d "$NDPI_DATA" ]; then
  base=${BASE_REV:-$(git -C "$ROOT" merge-base HEAD main)}
  mkdir -p "$tmp/base"; git -C "$ROOT" archive "$base" | tar -x -C "$tmp/base"; ln -s "$ROOT/node_modules" "$tmp/base/node_modules"
  ident=ok
  for ext in csv jsonl; do
    (cd "$tmp/base" && node bin/veil.js extract "$NDPI_DATA"/* -q -o "$tmp/base.$ext" 2>/dev/null) || true
    (cd "$ROOT" && $VEIL extract "$NDPI_DATA"/* -q -o "$tmp/head.$ext" 2>/dev/null) || true
    if cmp -s "$tmp/base.$ext" "$tmp/head.$ext"; then echo "ndpi captures: $(($(wc -l < "$tmp/head.$ext"))) $ext lines byte-identical to $base"
    else ident=DIFFERENT; echo "ndpi captures: $ext output DIFFERS from $base:"; diff "$tmp/base.$ext" "$tmp/head.$ext" | head -5; fi
  done
  [ "$ident" = ok ] || { echo "flow outputs changed: stop" >&2; exit 1; }
fi

caps=("$@")
if [ ${#caps[@]} -eq 0 ]; then
  mkdir -p "$DATA"
  [ -s "$DATA/mix20.pcap" ] || bash "$SHARED/bench/make-mix-pcap.sh" "$DATA/mix20.pcap" 20
  [ -s "$DATA/mix40.pcap" ] || bash "$SHARED/bench/make-mix-pcap.sh" "$DATA/mix40.pcap" 40
  # make-loopback-pcap.sh turns segmentation offload off with ethtool and ignores its failure: without ethtool the
  # capture holds 64 KB super-packets (0.59 M packets of 4.4 KB instead of ~2.4 M of 1.1 KB), so it is not built.
  if [ ! -s "$DATA/loopback.pcap" ]; then
    if command -v ethtool > /dev/null; then bash "$SHARED/bench/make-loopback-pcap.sh" "$DATA/loopback.pcap" || true
    else echo "loopback capture not built: make-loopback-pcap.sh needs ethtool (apt-get install ethtool)" >&2; fi
  fi
  caps=("$DATA/mix20.pcap" "$DATA/mix40.pcap"); [ -s "$DATA/loopback.pcap" ] && caps+=("$DATA/loopback.pcap")
fi
small=$NDPI_DATA/443-curl.pcap
log="$tmp/runs.txt"
timed() { # name cap round command...
  local name=$1 cap=$2 round=$3; shift 3
  /usr/bin/time -f "%U %S %M %e" -o "$tmp/t" "$@" > /dev/null 2>&1 || true
  echo "$cap $round $name $(tail -1 "$tmp/t")" >> "$log"
}
for cap in "${caps[@]}"; do
  [ -s "$cap" ] || { echo "missing capture $cap" >&2; exit 1; }
  cat "$cap" > /dev/null # page cache
  for r in $(seq "$RUNS"); do
    timed tcpdump-read-only "$cap" "$r" tcpdump -r "$cap" -w /dev/null
    timed ndpiReader "$cap" "$r" ndpiReader -i "$cap" -C "$tmp/ndpi.csv"
    timed veil "$cap" "$r" node "$ROOT/bin/veil.js" extract "$cap" -q -o "$tmp/veil.csv"
    timed veil-2workers "$cap" "$r" node "$ROOT/bin/veil.js" extract "$cap" -q -o "$tmp/veil2.csv" --workers 2
    timed veil-parquet "$cap" "$r" node "$ROOT/bin/veil.js" extract "$cap" -q -o "$tmp/veil.parquet"
    [ -f "$small" ] && timed veil-startup "$cap" "$r" node "$ROOT/bin/veil.js" extract "$small" -q -o "$tmp/small.csv"
  done
done
python3 - "$log" <<'PY'
import collections, subprocess, sys, statistics as st
runs = collections.defaultdict(dict)  # (cap, round) -> tool -> (cpu, rss KB, wall)
for line in open(sys.argv[1]):
    cap, rnd, tool, u, s, m, e = line.split()
    runs[(cap, int(rnd))][tool] = (float(u) + float(s), int(m), float(e))
def spread(xs, fmt='{:.2f}'):
    return (fmt.format(st.mean(xs)) + ' (' + fmt.format(min(xs)) + '-' + fmt.format(max(xs)) + ')') if xs else 'n/a'
for cap in dict.fromkeys(c for c, _ in runs):
    out = subprocess.run(['capinfos', '-c', '-z', '-M', cap], capture_output=True, text=True).stdout
    n = int(out.split('Number of packets:')[1].split()[0])
    avg = float(out.split('Average packet size:')[1].split()[0])
    rounds = [t for (c, _), t in sorted(runs.items()) if c == cap]
    print(f'== {cap}: {n} packets of {avg:.0f} bytes on average, {len(rounds)} rounds; mean (min-max over rounds)')
    if avg > 1514:
        # Frames above an Ethernet MTU on average: captured with segmentation offload on (make-loopback-pcap.sh turns
        # it off with ethtool; without ethtool it silently stays on and tcpdump sees up to 64 KB super-packets).
        print('  WARNING: larger than wire packets on average: a loopback capture made without ethtool (GSO/TSO on)?')
    tools = [t for t in ('tcpdump-read-only', 'ndpiReader', 'veil', 'veil-2workers', 'veil-parquet', 'veil-startup') if any(t in r for r in rounds)]
    print(f"  {'tool':18} {'CPU s':>18} {'wall s':>18} {'Mpkt/CPU-s':>20} {'peak RSS MB':>12}")
    for t in tools:
        v = [r[t] for r in rounds if t in r]
        pps = [] if t == 'veil-startup' else [n / x[0] / 1e6 for x in v]
        print(f"  {t:18} {spread([x[0] for x in v]):>18} {spread([x[2] for x in v]):>18} {spread(pps, '{:.3f}'):>20} {max(x[1] for x in v) / 1024:12.0f}")
    ratio = lambda a, b, k: [r[a][k] / r[b][k] for r in rounds if a in r and b in r]
    print(f"  veil / ndpiReader, packets per CPU-second: {spread(ratio('ndpiReader', 'veil', 0))}x")
    print(f"  veil / tcpdump read-only, packets per CPU-second: {spread(ratio('tcpdump-read-only', 'veil', 0))}x")
    print(f"  veil --workers 2 / 1 worker, packets per wall-second: {spread(ratio('veil', 'veil-2workers', 2))}x")
    print(f"  Parquet / CSV, CPU-s: {spread(ratio('veil-parquet', 'veil', 0))}x; peak RSS {spread(ratio('veil-parquet', 'veil', 1))}x")
    s = [r['veil-startup'][0] for r in rounds if 'veil-startup' in r]
    if s: print(f"  start-up (extract of a 109-packet capture): {spread(s)} CPU-s")
PY
