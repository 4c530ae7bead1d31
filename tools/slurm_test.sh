#!/usr/bin/env bash
# Usage: tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py args...]   (see tools/slurm_launch.sh)
exec "$(dirname "$0")/slurm_launch.sh" test.py "$@"
