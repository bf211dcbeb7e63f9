#!/usr/bin/env bash
# Speed of `veil extract` (all feature families on, handshake parsing included) beside the anchor tools, in one run:
# ../shared/bench/anchors.sh times tcpdump, tshark, ndpiReader (and suricata etc. where installed) with hyperfine;
# Veil runs in the same run, single-threaded and with --workers 2. Prints packets per CPU-second and per wall-second,
# Veil's ratios to each anchor, the speed-up of two workers over one, and Veil's peak RSS.
#
# usage: bench/extract-speed.sh [CAPTURE...]   (default: /tmp/veil-mix.pcap and /tmp/veil-loopback.pcap, built
#        with bench/make-mix-pcap.sh and ../shared/bench/make-loopback-pcap.sh when missing)
# env:   RUNS (default 3), OUT (default bench-out/speed)
# Needs Debian's tshark tcpdump libndpi-bin hyperfine tcpreplay (and, for the loopback capture, root + curl openssl
# ethtool iproute2).
set -euo pipefail
# On a shared machine, raise this session's scheduling group above the other sessions' (Linux autogroups; needs
# root): every tool below runs in this same group, so they compete only with each other, as on a quiet machine.
[ -n "${NO_AUTOGROUP:-}" ] || { echo -20 > /proc/self/autogroup; } 2>/dev/null || true
HERE=$(cd "$(dirname "$0")" && pwd); ROOT=$(cd "$HERE/.." && pwd)
SHARED=${SHARED:-$ROOT/../shared}
RUNS=${RUNS:-3}
caps=("$@")
if [ ${#caps[@]} -eq 0 ]; then
  [ -s /tmp/veil-mix.pcap ] || bash "$HERE/make-mix-pcap.sh" /tmp/veil-mix.pcap 40
  [ -s /tmp/veil-loopback.pcap ] || bash "$SHARED/bench/make-loopback-pcap.sh" /tmp/veil-loopback.pcap
  caps=(/tmp/veil-mix.pcap /tmp/veil-loopback.pcap)
fi
for cap in "${caps[@]}"; do
  name=$(basename "$cap" .pcap)
  out=${OUT:-$ROOT/bench-out/speed}/$name
  rm -rf "$out"; mkdir -p "$out"
  echo "== $cap"
  OUT="$out" EXTRA_NAME=veil EXTRA_CMD="node $ROOT/bin/veil.js extract '$cap' -q -o /dev/null" \
    bash "$SHARED/bench/anchors.sh" "$cap" "$RUNS" 1 > "$out/anchors.log" 2>&1 || { cat "$out/anchors.log"; exit 1; }
  hyperfine --style basic --runs "$RUNS" -n veil-2workers --export-json "$out/hyperfine-veil-2workers.json" \
    "node $ROOT/bin/veil.js extract '$cap' -q -o /dev/null --workers 2" > /dev/null 2>&1
  # Peak RSS of the whole process tree (the bin wrapper and its child): GNU time reports the largest child.
  /usr/bin/time -f '%M' -o "$out/rss.txt" node "$ROOT/bin/veil.js" extract "$cap" -q -o /dev/null
  python3 - "$out" "$cap" <<'PY'
import json, glob, os, sys, subprocess
out, cap = sys.argv[1], sys.argv[2]
n = int(subprocess.run(['capinfos', '-c', '-M', cap], capture_output=True, text=True).stdout.split('Number of packets:')[1].split()[0])
rows = {}
for f in glob.glob(os.path.join(out, 'hyperfine-*.json')):
    r = json.load(open(f))['results'][0]
    rows[os.path.basename(f)[10:-5]] = (r['mean'], r['user'] + r['system'])
print(f'packets {n}, size {os.path.getsize(cap) / 1e9:.2f} GB')
print(f"{'tool':22} {'wall s':>8} {'CPU s':>8} {'Mpkt/CPU-s':>11} {'Mpkt/wall-s':>12}")
for k, (wall, cpu) in sorted(rows.items(), key=lambda kv: kv[1][1]):
    print(f'{k:22} {wall:8.2f} {cpu:8.2f} {n / cpu / 1e6:11.3f} {n / wall / 1e6:12.3f}')
v = rows.get('veil')
if v:
    for a in ('ndpiReader', 'tshark-conv', 'tshark-ja3-fields', 'tcpdump-read-only', 'suricata-single'):
        if a in rows:
            print(f'veil / {a}: {rows[a][1] / v[1]:.2f}x packets per CPU-second')
    w2 = rows.get('veil-2workers')
    if w2:
        print(f'veil --workers 2 vs 1: {v[0] / w2[0]:.2f}x wall-clock speed-up ({w2[1]:.2f} vs {v[1]:.2f} CPU s)')
rss = open(os.path.join(out, 'rss.txt')).read().strip().splitlines()[-1]
print(f'veil peak RSS: {int(rss) / 1024:.0f} MB')
PY
done
