#!/usr/bin/env bash
# The SASRec recipe ablation of the README ("Why the recipe"): trains SASRec on Beauty for a
# fixed number of epochs under each recipe and seed, and prints the validation NDCG@10 of the
# best epoch (chosen every 5 epochs) as a table. Each line of RECIPES is a name and the `train`
# flags that differ from today's defaults.
#
#   bash benches/recipe.sh                       # every recipe, seeds 1 2, 20 epochs
#   SEEDS="1 2 3" EPOCHS=40 bash benches/recipe.sh
#   DATA=toys bash benches/recipe.sh
#
# BIN=path uses that localrec binary instead of building one.
# Logs go to data/recipe/<data>-<recipe>-<seed>.log and are reused (delete one to rerun it).
# Needs ../shared/data (the Amazon files); one run at a time (2 cores: parallel runs halve each other).
set -euo pipefail
cd "$(dirname "$0")/.."
data=${DATA:-beauty}
read -r -a seeds <<< "${SEEDS:-1 2}"
epochs=${EPOCHS:-20}
RECIPES=${RECIPES:-"default|
old default (length batches, per-batch mean, d_ff = d, uniform init, 2 heads, batch 128)|--batching length --d-ff 64 --init uniform --heads 2 --batch-size 128
per-batch mean (length batches)|--batching length
random batches (per-batch mean)|--batching random
d_ff = d|--d-ff 64
uniform init|--init uniform
2 heads|--heads 2
batch 128|--batch-size 128"}
# A subset: ONLY="default,old" runs the recipes whose names start with those words.
if [ -z "${BIN:-}" ]; then
  cargo build --release --features cli >/dev/null 2>&1 || cargo build --release --features cli
fi
bin=${BIN:-target/release/localrec}
mkdir -p data/recipe
printf '%-78s %8s %8s  %s\n' recipe "valid" "s/epoch" "valid NDCG@10 per seed (best epoch)"
while IFS='|' read -r name flags; do
  [ -n "$name" ] || continue
  if [ -n "${ONLY:-}" ]; then
    keep=0
    IFS=',' read -r -a only <<< "$ONLY"
    for o in "${only[@]}"; do [[ "$name" == "$o"* ]] && keep=1; done
    [ "$keep" = 1 ] || continue
  fi
  slug=$(echo "$name" | tr -c 'a-zA-Z0-9\n' '-' | cut -c1-40)
  vals=(); cells=(); secs=()
  for seed in "${seeds[@]}"; do
    log="data/recipe/$data-$slug-$seed.log"
    if ! grep -q "best epoch" "$log" 2>/dev/null; then
      # shellcheck disable=SC2086
      "$bin" train --model sasrec --data "$data" --epochs "$epochs" --patience 1000 --eval-every 5 \
        --seed "$seed" $flags > "$log" 2>&1 || { echo "failed: $log" >&2; continue; }
    fi
    line=$(grep "best epoch" "$log")
    v=$(echo "$line" | sed -E 's/.*valid NDCG@10 ([0-9.]+).*/\1/')
    e=$(echo "$line" | sed -E 's/.*best epoch ([0-9]+).*/\1/')
    s=$(grep -E '^epoch' "$log" | sed -E 's/.*loss [0-9.]+, ([0-9.]+) s.*/\1/' | awk '{t+=$1} END {if (NR) printf "%.1f", t/NR}')
    vals+=("$v"); cells+=("$v ($e)"); secs+=("$s")
  done
  mean=$(printf '%s\n' "${vals[@]}" | awk '{t+=$1} END {if (NR) printf "%.4f", t/NR}')
  sec=$(printf '%s\n' "${secs[@]}" | awk '{t+=$1} END {if (NR) printf "%.1f", t/NR}')
  printf '%-78s %8s %8s  %s\n' "$name" "$mean" "$sec" "${cells[*]}"
done <<< "$RECIPES"
