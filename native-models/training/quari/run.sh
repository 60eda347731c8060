#!/bin/sh
# The QuARI training pipeline for the built default pack, detached: dump (2 shards) → train → parity check.
#   sh native-models/training/quari/run.sh [OUT_DIR]      (default: $QUARI_TRAINING_CACHE or ~/.cache/quari-training, /quari-run)
# Progress: tail -f OUT_DIR/run.log. The checkpoint lands in OUT_DIR/ckpt (config.yml, weights.pt, train-log.json);
# copy it to native-models/packs/mobilenetv2-nsfwjs/quari/ to ship it. Knobs (environment): PACK (pack folder),
# OBJECTS (500), SEED (7 for the data, 1 for training), STEPS (1000), MINUTES (30), TRAIN_ARGS (extra train.py flags).
set -eu
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
CACHE=${QUARI_TRAINING_CACHE:-$HOME/.cache/quari-training}
OUT=${1:-$CACHE/quari-run}
PACK=${PACK:-$ROOT/native-models/packs/built/mobilenetv2-nsfwjs}
OBJECTS=${OBJECTS:-500}
STEPS=${STEPS:-1000}
MINUTES=${MINUTES:-30}
mkdir -p "$OUT"
if [ "${QUARI_RUN_DETACHED:-}" != 1 ]; then
  QUARI_RUN_DETACHED=1 nohup nice sh "$0" "$OUT" > "$OUT/run.log" 2>&1 &
  echo "started (pid $!); log: $OUT/run.log"
  exit 0
fi
cd "$ROOT"
echo "$(date -u +%FT%TZ) pack $PACK, $OBJECTS objects, $STEPS steps"
for k in 0 1; do
  npx tsx native-models/training/quari/dump.ts --out "$OUT/dump-$k" --pack "$PACK" --objects "$OBJECTS" --crops 3 --selfsup 2 --seed "${SEED:-7}" --shard "$k/2" > "$OUT/dump-$k.log" 2>&1 &
done
wait
tail -n 1 "$OUT/dump-0.log" "$OUT/dump-1.log"
echo "$(date -u +%FT%TZ) training"
# shellcheck disable=SC2086
/usr/bin/python3 native-models/training/quari/train.py --data "$OUT/dump-0" "$OUT/dump-1" --out "$OUT/ckpt" \
  --steps "$STEPS" --minutes "$MINUTES" --seed "${SEED:-1}" ${TRAIN_ARGS:-}
/usr/bin/python3 native-models/training/quari/parity.py --checkpoint "$OUT/ckpt" --data "$OUT/dump-0"
echo "$(date -u +%FT%TZ) done"
