#!/usr/bin/env bash
# Usage: tools/slurm_train.sh PARTITION JOB_NAME CONFIG [train.py args...]   (see tools/slurm_launch.sh)
exec "$(dirname "$0")/slurm_launch.sh" train.py "$@"
