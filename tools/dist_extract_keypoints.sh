#!/usr/bin/env bash
# Usage: tools/dist_extract_keypoints.sh POSE_CONFIG POSE_CHECKPOINT GPUS --frames ROOT --proposals PKL --out PKL [extract_keypoints.py args...]
AVA_USAGE="tools/dist_extract_keypoints.sh POSE_CONFIG POSE_CHECKPOINT GPUS --frames ROOT --proposals PKL --out PKL [extract_keypoints.py args...]" exec "$(dirname "$0")/dist_launch.sh" extract_keypoints.py "$3" "$1" "$2" "${@:4}"
