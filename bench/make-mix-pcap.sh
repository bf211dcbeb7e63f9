#!/usr/bin/env bash
# Builds a large benchmark capture from the real traffic in ../data/ndpi: every Ethernet capture there, merged in
# time order, then repeated COPIES times; each copy is shifted 1000 s later and has its IP addresses remapped
# (tcprewrite --seed), so every copy's flows are new flows.
# Output: classic pcap (libpcap, ndpiReader and tshark all read it). Needs Debian's tshark (mergecap, editcap, capinfos)
# and tcpreplay (tcprewrite).
# usage: make-mix-pcap.sh OUT.pcap [COPIES=40]
# Veil's copy of ../shared/bench/make-mix-pcap.sh: the same capture, except that the three fuzzing captures in
# ../data/ndpi that hold a record with an absurd length (fuzz-2006-06-26-2594, fuzz-2020-02-16-11740,
# fuzz-2021-06-07-c6c72a0a56) are left out, because tcprewrite refuses them and the shared script then dies
# with no output. Set NDPI_PCAP to read the captures from elsewhere.
set -euo pipefail
out=${1:?usage: make-mix-pcap.sh OUT.pcap [COPIES]}; copies=${2:-40}
here=$(cd "$(dirname "$0")" && pwd); src=${NDPI_PCAP:-$here/../../shared/data/ndpi/pcap}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
list=()
for f in "$src"/*; do
  case "$(basename "$f")" in fuzz-2006-06-26-2594.pcap|fuzz-2020-02-16-11740.pcap|fuzz-2021-06-07-c6c72a0a56.pcap) continue;; esac
  [ "$(capinfos -E -T -r "$f" 2>/dev/null | awk -F'\t' 'NR==1{print $2}')" = ether ] && list+=("$f")
done
# Each source capture starts at its own time; align them all to start at the epoch + 1e9 s so they interleave.
i=0
for f in "${list[@]}"; do
  start=$(capinfos -a -T -r -S "$f" 2>/dev/null | awk -F'\t' 'NR==1{print int($2)}')
  [ -n "$start" ] || continue
  editcap -F pcap -t $((1000000000 - start)) "$f" "$tmp/a$i.pcap" 2>/dev/null && i=$((i+1))
done
mergecap -F pcap -w "$tmp/one.pcap" "$tmp"/a*.pcap
parts=()
for k in $(seq 0 $((copies-1))); do
  editcap -F pcap -t $((k*1000)) "$tmp/one.pcap" "$tmp/s$k.pcap"
  if [ "$k" -eq 0 ]; then mv "$tmp/s$k.pcap" "$tmp/c$k.pcap"
  else tcprewrite --seed=$k --infile="$tmp/s$k.pcap" --outfile="$tmp/c$k.pcap" 2>/dev/null; rm -f "$tmp/s$k.pcap"; fi
  parts+=("$tmp/c$k.pcap")
done
mergecap -a -F pcap -w "$out" "${parts[@]}"
capinfos -c -s "$out" | tail -n 2
