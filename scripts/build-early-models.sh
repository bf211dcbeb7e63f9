#!/usr/bin/env bash
# The early-verdict category model: behaviour of a flow's first N packets (default 10), learnt from the real captures
# of ../shared/data as the default category model is (scripts/build-real-models.sh), but cut at N packets:
#   1. bench/real-labels.ts --early N meters every capture (15 s timeouts), writes each flow as of its N-th packet and
#      labels it by its own name verdict (flows without a name are left out);
#   2. veil train --early N learns from the sequence (first N packets) and handshake columns (tls_client_hello_len
#      excluded: it grows with the server name), grouped 3-fold by capture -> models/early/category-earlyN.veilmodel
#      and .evaluation.json.
# Live sources load models/early/ for their early verdicts (veil serve --early-model overrides); job processing and
# veil classify on files never apply it (it only knows flows cut at N packets).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DATA=${VEIL_SHARED_DATA:-$ROOT/../shared/data}
N=${1:-10}
[ -d "$DATA/ndpi" ] || { echo "build-early-models needs the captures in $DATA (set VEIL_SHARED_DATA)" >&2; exit 2; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$ROOT/models/early"
node --import tsx "$ROOT/bench/real-labels.ts" --data "$DATA" --early "$N" -o "$TMP/real-early.csv" > "$TMP/counts.md"
# Run from the table's folder: the model records 'real-early.csv' as its training source, not a temporary path.
(cd "$TMP" && node "$ROOT/bin/veil.js" train real-early.csv --label category --early "$N" --group-by id_capture --folds 3 \
  --exclude tls_client_hello_len --model forest --trees 60 --seed 0 --threads "${VEIL_THREADS:-1}" -q \
  --meter-active-timeout 15 --meter-idle-timeout 15 \
  --json "$ROOT/models/early/category-early$N.evaluation.json" -o "$ROOT/models/early/category-early$N.veilmodel")
echo "models/early/category-early$N.veilmodel and .evaluation.json written" >&2
