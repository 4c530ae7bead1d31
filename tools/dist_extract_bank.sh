#!/usr/bin/env bash
# Usage: tools/dist_extract_bank.sh CONFIG CHECKPOINT GPUS --out BANK_DIR [extract_bank.py args...]
AVA_USAGE="tools/dist_extract_bank.sh CONFIG CHECKPOINT GPUS --out BANK_DIR [extract_bank.py args...]" exec "$(dirname "$0")/dist_launch.sh" extract_bank.py "$3" "$1" "$2" "${@:4}"
