#!/usr/bin/env bash
# Reproduces benches/results/accuracy.json and the README leaderboard: trains every encoder
# on the Amazon S3Rec 5-core data (../shared/data), then evaluates the bundles beside the
# baselines with the full evaluation (leave-one-out, max length 50, full ranking over all
# items, history masked; test figures of the epoch with the best validation NDCG@10).
#
#   bash benches/accuracy.sh                # everything (hours on 2 CPU cores)
#   bash benches/accuracy.sh beauty         # one dataset
#   MODELS="sasrec gru4rec" bash benches/accuracy.sh beauty
#
# Bundles go to data/models/<data>-<model>.lrec; existing bundles are evaluated, not retrained
# (delete one to retrain it). Extra `train` options can be passed in TRAIN_ARGS.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -gt 0 ]; then datasets=("$@"); else datasets=(beauty toys sports); fi
# A name with "+refit" trains that encoder with --refit (see README, Leaderboard).
read -r -a models <<< "${MODELS:-sasrec sasrec+refit gru4rec lstm bert4rec attnpool}"
results=benches/results/accuracy.json
cargo build --release --features cli
bin=target/release/localrec

# The settings behind the recorded figures (d = 64 for every encoder; SASRec's defaults are the
# PyTorch recipe, see README "Why the recipe"). The standard-protocol SASRec row with several
# seeds is written by benches/seeds.sh.
args_for() {
  case "$1" in
    *+refit) echo "--refit" ;;
    *) echo "" ;;
  esac
}

for data in "${datasets[@]}"; do
  bundles=()
  for m in "${models[@]}"; do
    out="data/models/$data-${m/+/-}.lrec"
    if [ ! -f "$out" ]; then
      # shellcheck disable=SC2046
      "$bin" train --model "${m%+refit}" --data "$data" $(args_for "$m") ${TRAIN_ARGS:-} --out "$out"
    fi
    bundles+=("$out")
  done
  list=$(IFS=,; echo "pop,markov,itemknn,${bundles[*]}")
  "$bin" compare --data "$data" --models "$list" --results "$results" --out "data/reports/$data"
done
"$bin" results "$results"
