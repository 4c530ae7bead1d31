#!/usr/bin/env bash
# Usage: tools/dist_launch.sh SCRIPT NPROC [script args...]
# Runs tools/SCRIPT with torchrun, NPROC processes per node, adding `--launcher pytorch`.
# With GPUs: one process per GPU (NCCL). Without: NPROC CPU processes (gloo).
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR and PORT. PYTHON defaults to .venv/bin/python.
set -euo pipefail
SCRIPT=${1:-}
NPROC=${2:-}
if ! [[ "$NPROC" =~ ^[1-9][0-9]*$ ]]; then
  printf "error: the number of processes (GPUS) must be a positive integer, got '%s'; usage: %s\n" \
    "$NPROC" "${AVA_USAGE:-tools/dist_launch.sh SCRIPT NPROC [script args...]}" >&2
  exit 2
fi
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
if [ -z "${PYTHON:-}" ]; then
  if [ -x "$ROOT/.venv/bin/python" ]; then PYTHON="$ROOT/.venv/bin/python"; else PYTHON=python; fi
fi
PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" exec "$PYTHON" -m torch.distributed.run \
  --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" --master_addr="${MASTER_ADDR:-127.0.0.1}" \
  --master_port="${PORT:-29500}" --nproc_per_node="$NPROC" \
  "$ROOT/tools/$SCRIPT" "${@:3}" --launcher pytorch
