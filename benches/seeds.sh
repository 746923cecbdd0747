#!/usr/bin/env bash
# Trains one encoder with several seeds on the standard protocol (epoch chosen on validation,
# tested with the validation item appended; no refit) and records the mean of the seeds as one
# row of benches/results/accuracy.json (`compare --seeds`: each seed's command and figures, and
# the standard deviation, are kept in the row), beside the baselines.
#
#   bash benches/seeds.sh beauty                      # sasrec, seeds 1 2 3
#   SEEDS="1 2 3 4 5" MODEL=sasrec bash benches/seeds.sh toys --max-minutes 30
#
# Extra arguments go to every `localrec train`. Bundles go to data/models/<data>-<model>-s<seed>.lrec
# and are reused when present (delete one to retrain it). BIN=path uses that localrec binary.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:?usage: benches/seeds.sh DATA [train flags]}
shift
model=${MODEL:-sasrec}
read -r -a seeds <<< "${SEEDS:-1 2 3}"
if [ -z "${BIN:-}" ]; then
  cargo build --release --features cli
fi
bin=${BIN:-target/release/localrec}
bundles=()
for seed in "${seeds[@]}"; do
  out="data/models/$data-$model-s$seed.lrec"
  if [ ! -f "$out" ]; then
    "$bin" train --model "$model" --data "$data" --seed "$seed" --out "$out" "$@"
  fi
  bundles+=("$out")
done
list=$(IFS=,; echo "pop,markov,itemknn,${bundles[*]}")
"$bin" compare --data "$data" --models "$list" --results benches/results/accuracy.json --seeds \
  --out "data/reports/$data-seeds"
"$bin" results benches/results/accuracy.json
