#!/usr/bin/env bash
# npm run models:build: trains the shipped default models from the ISCX VPN-nonVPN 2016 ARFF files in
# ../shared/data, reproducibly (seed 0), and writes beside them their evaluation under two splits:
#   models/iscx/category.veilmodel  usage category (7 classes), from Scenario B 15 s AllinOne (VPN and non-VPN rows);
#                              no longer a default (models/category.veilmodel is built from real captures by models:build-real)
#   models/vpn.veilmodel       VPN vs Non-VPN, from Scenario A1 15 s
#   models/<name>.evaluation.json   blocked 5-fold (neighbouring rows kept together): the honest figure
#   models/<name>.shuffled.json     stratified shuffled 5-fold: the figure the literature reports
#   models/report-<name>/           HTML report with charts (both splits side by side)
#   models/REPORT.md                the summary the README quotes
# The 15 s files declare their columns in the wrong order; the loader fixes it (--column-order fix) and says so.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DATA=${VEIL_SHARED_DATA:-$ROOT/../shared/data}/iscx-vpn2016
[ -d "$DATA" ] || { echo "models:build needs the ISCX data in $DATA (set VEIL_SHARED_DATA)" >&2; exit 2; }
# Paths relative to the repository, so the models' recorded training source names no build machine's folders.
cd "$ROOT"
DATA=$(realpath --relative-to="$ROOT" "$DATA")
VEIL="node $ROOT/bin/veil.js"
OUT=$ROOT/models
# Forest settings keep the files small enough to commit (a few MB) at no cost in accuracy on these sets.
COMMON=(--model forest --trees 100 --min-samples-leaf 3 --seed 0 --threads 2 -q --meter-active-timeout 15 --meter-idle-timeout 15)
train() { # name data [dir]
  local name=$1 data=$2 out=${3:-$OUT}
  mkdir -p "$out"
  $VEIL train "$data" --label class1 "${COMMON[@]}" --folds 5 --json "$out/$name.shuffled.json" -o "$out/.$name.tmp"
  rm -f "$out/.$name.tmp"
  $VEIL train "$data" --label class1 "${COMMON[@]}" --blocked 5 --json "$out/$name.evaluation.json" -o "$out/$name.veilmodel"
}
train category "$DATA/Scenario B-ARFF/TimeBasedFeatures-Dataset-15s-AllinOne.arff" "$OUT/iscx"
train vpn "$DATA/Scenario A1-ARFF/TimeBasedFeatures-Dataset-15s-VPN.arff"
node --import tsx "$ROOT/scripts/models-report.ts" "$OUT" vpn
