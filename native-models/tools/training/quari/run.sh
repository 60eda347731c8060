#!/bin/sh
# The QuARI training pipeline for the built default pack, detached: dumps → train → parity check.
#   sh native-models/tools/training/quari/run.sh [OUT_DIR]      (default: $QUARI_TRAINING_CACHE or ~/.cache/quari-training, /quari-run)
# Progress: tail -f OUT_DIR/run.log. The checkpoint lands in OUT_DIR/ckpt (config.yml, weights.pt, train-log.json);
# copy it to native-models/packs/mobilenetv2-nsfwjs/quari/ to ship it.
# Knobs (environment), defaults = the committed checkpoint's recipe:
#   PACK          pack folder (the built default pack)
#   SEEDS         one train-split dump plan per seed, 500 objects each ("7 8 9 10 13 14 15")
#   WHITEN_SEEDS  plans over the projection's split, 400 objects each ("12"; never the eval split; "" for none)
#   STEPS (6000), MINUTES (45), TRAIN_SEED (1), TRAIN_ARGS (extra train.py flags, e.g. --val-family, --init)
#   OBJECTS       objects per train-split plan (500); DUMP_ARGS (extra dump.ts flags, e.g. --tiers)
# A plan's dump takes 5–8 min on 2 cores (two shards in parallel), training about 35 min: ≈ 1.5 h in all.
# A finished dump is reused on a rerun.
set -eu
ROOT=$(cd "$(dirname "$0")/../../../.." && pwd)
CACHE=${QUARI_TRAINING_CACHE:-$HOME/.cache/quari-training}
OUT=${1:-$CACHE/quari-run}
PACK=${PACK:-$ROOT/native-models/packs/built/mobilenetv2-nsfwjs}
SEEDS=${SEEDS-7 8 9 10 13 14 15}
WHITEN_SEEDS=${WHITEN_SEEDS-12}
STEPS=${STEPS:-6000}
MINUTES=${MINUTES:-45}
mkdir -p "$OUT"
if [ "${QUARI_RUN_DETACHED:-}" != 1 ]; then
  QUARI_RUN_DETACHED=1 nohup nice sh "$0" "$OUT" > "$OUT/run.log" 2>&1 &
  echo "started (pid $!); log: $OUT/run.log"
  exit 0
fi
cd "$ROOT"
echo "$(date -u +%FT%TZ) pack $PACK, train seeds $SEEDS, whitening seeds $WHITEN_SEEDS, $STEPS steps"
DUMPS=
dump() { # split objects seed
  for k in 0 1; do
    d="$OUT/dump-$1-$3-$k"
    DUMPS="$DUMPS $d"
    [ -f "$d/meta.json" ] && continue
    npx tsx native-models/tools/training/quari/dump.ts --out "$d" --pack "$PACK" --split "$1" --objects "$2" --crops 3 \
      --selfsup 2 --seed "$3" --shard "$k/2" ${DUMP_ARGS:-} > "$d.log" 2>&1 &
  done
  wait
  echo "$(date -u +%FT%TZ) dumped $1 seed $3"
}
for s in $SEEDS; do dump train "${OBJECTS:-500}" "$s"; done
for s in $WHITEN_SEEDS; do dump whitening 400 "$s"; done
echo "$(date -u +%FT%TZ) training"
# shellcheck disable=SC2086
/usr/bin/python3 native-models/tools/training/quari/train.py --data $DUMPS --out "$OUT/ckpt" \
  --steps "$STEPS" --eval-every 500 --val-frac 0.05 --minutes "$MINUTES" --seed "${TRAIN_SEED:-1}" ${TRAIN_ARGS:-}
# shellcheck disable=SC2086
set -- $DUMPS
/usr/bin/python3 native-models/tools/training/quari/parity.py --checkpoint "$OUT/ckpt" --data "$1"
echo "$(date -u +%FT%TZ) done"
