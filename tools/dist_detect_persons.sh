#!/usr/bin/env bash
# Usage: tools/dist_detect_persons.sh DET_CONFIG DET_CHECKPOINT GPUS --frames ROOT --out PKL [detect_persons.py args...]
AVA_USAGE="tools/dist_detect_persons.sh DET_CONFIG DET_CHECKPOINT GPUS --frames ROOT --out PKL [detect_persons.py args...]" exec "$(dirname "$0")/dist_launch.sh" detect_persons.py "$3" "$1" "$2" "${@:4}"
