#!/usr/bin/env bash
# CPU cost of `veil extract` (all feature families on) beside ndpiReader, run back to back on the same captures:
# packets per CPU-second (user + sys, from GNU time), peak RSS, and wall time of one worker and of --workers 2.
# With BASE_REV set, the same is measured for that git revision too (exported to a temporary directory that
# shares this checkout's node_modules), so one command prints a before/after table.
#
# usage: bench/extract-cpu.sh [CAPTURE...]   (default: /tmp/veil-mix.pcap /tmp/veil-loopback.pcap)
# env:   RUNS (default 3, alternating between the tools), BASE_REV (e.g. 50c82e9), WORKERS (default 2)
# The machine may be shared: runs alternate so that load changes hit every tool alike; compare within one run.
set -euo pipefail
# On a shared machine, raise this session's scheduling group above the other sessions' (Linux autogroups; needs
# root): every tool below runs in this same group, so they compete only with each other, as on a quiet machine.
[ -n "${NO_AUTOGROUP:-}" ] || { echo -20 > /proc/self/autogroup; } 2>/dev/null || true
HERE=$(cd "$(dirname "$0")" && pwd); ROOT=$(cd "$HERE/.." && pwd)
RUNS=${RUNS:-3}
WORKERS=${WORKERS:-2}
caps=("$@")
[ ${#caps[@]} -gt 0 ] || caps=(/tmp/veil-mix.pcap /tmp/veil-loopback.pcap)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
declare -A trees=([veil]="$ROOT")
if [ -n "${BASE_REV:-}" ]; then
  mkdir -p "$tmp/base"
  git -C "$ROOT" archive "$BASE_REV" | tar -x -C "$tmp/base"
  ln -s "$ROOT/node_modules" "$tmp/base/node_modules"
  trees[veil@$BASE_REV]="$tmp/base"
fi
log="$tmp/runs.txt"
for cap in "${caps[@]}"; do
  [ -s "$cap" ] || { echo "missing capture $cap" >&2; exit 1; }
  cat "$cap" > /dev/null # page cache
  for i in $(seq "$RUNS"); do
    for name in "${!trees[@]}"; do
      dir=${trees[$name]}
      /usr/bin/time -f "%U %S %M %e" -o "$tmp/t" node "$dir/bin/veil.js" extract "$cap" -q -o /dev/null || true
      echo "$cap $name $(tail -1 "$tmp/t")" >> "$log"
      /usr/bin/time -f "%U %S %M %e" -o "$tmp/t" node "$dir/bin/veil.js" extract "$cap" -q -o /dev/null --workers "$WORKERS" || true
      echo "$cap $name-w$WORKERS $(tail -1 "$tmp/t")" >> "$log"
    done
    /usr/bin/time -f "%U %S %M %e" -o "$tmp/t" ndpiReader -i "$cap" -C "$tmp/ndpi.csv" > /dev/null 2>&1 || true
    echo "$cap ndpiReader $(tail -1 "$tmp/t")" >> "$log"
  done
done
python3 - "$log" <<'PY'
import collections, subprocess, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    cap, tool, u, s, m, e = line.split()
    runs[(cap, tool)].append((float(u) + float(s), int(m), float(e)))
packets = {}
for cap in dict.fromkeys(c for c, _ in runs):
    out = subprocess.run(['capinfos', '-c', '-M', cap], capture_output=True, text=True).stdout
    packets[cap] = int(out.split('Number of packets:')[1].split()[0])
for cap in packets:
    n = packets[cap]
    print(f'{cap}: {n} packets')
    print(f"  {'tool':22} {'CPU-s mean':>10} {'min':>6} {'Mpkt/CPU-s':>10} {'peak RSS MB':>11} {'wall s':>7}")
    ndpi = None
    rows = sorted(((t, v) for (c, t), v in runs.items() if c == cap), key=lambda kv: kv[0])
    for tool, v in rows:
        cpu = sum(x[0] for x in v) / len(v)
        if tool == 'ndpiReader': ndpi = cpu
        print(f'  {tool:22} {cpu:10.2f} {min(x[0] for x in v):6.2f} {n / cpu / 1e6:10.3f} {max(x[1] for x in v) / 1024:11.0f} {sum(x[2] for x in v) / len(v):7.2f}')
    if ndpi:
        for tool, v in rows:
            if tool != 'ndpiReader' and '-w' not in tool:
                print(f'  {tool} vs ndpiReader: {ndpi / (sum(x[0] for x in v) / len(v)):.2f}x packets per CPU-second')
PY
