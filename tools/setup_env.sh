#!/usr/bin/env bash
# Create (or reuse) the project environment and install this clone of ava_plugins into it in
# editable mode.
#
# The OpenMMLab stack is built once per (Python, torch spec, stack requirements) in a cache
# folder (never holding ava_plugins itself). `.venv` in the repository root is a small venv of
# this clone alone: its site-packages holds this clone's editable install and a .pth that adds
# the cached stack's site-packages, so every clone on a machine shares the stack but only ever
# imports its own code. The mmcv wheel, built from source with compiled ops, is cached
# separately, keyed by torch version, CUDA version (or cpu) and Python ABI, so a different torch
# never reuses it. Every breakage listed in docs/stack_notes.md is handled here or in
# ava_plugins/compat.py.
#
# Variables (all optional):
#   AVA_CACHE_DIR        cache root (default: ~/.cache/ava_plugins)
#   AVA_PYTHON           interpreter to build the stack from (default: python3.11)
#   AVA_TORCH            pip requirements for torch/torchvision
#                        (default: "torch==2.14.1 torchvision==0.29.1")
#   AVA_TORCH_INDEX_URL  extra index for AVA_TORCH, e.g. https://download.pytorch.org/whl/cu121
#   FORCE_CUDA=1         build mmcv's CUDA ops even where no GPU is visible (needs nvcc);
#                        they are built automatically when torch sees a GPU.
#   MAX_JOBS             parallel compile jobs for mmcv (default: number of cores)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${AVA_CACHE_DIR:-$HOME/.cache/ava_plugins}"
PYTHON="${AVA_PYTHON:-python3.11}"
TORCH_SPEC="${AVA_TORCH:-torch==2.14.1 torchvision==0.29.1}"
MMCV_VERSION="2.1.0"
MMPOSE_VERSION="1.3.2"
OPENMIM_VERSION="0.3.9"
export MAX_JOBS="${MAX_JOBS:-$(nproc)}"

log() { printf '[setup_env] %s\n' "$*" >&2; }
if ! command -v "$PYTHON" >/dev/null 2>&1; then
  printf 'error: Python interpreter "%s" not found on PATH; install Python 3.11 or point AVA_PYTHON at one, e.g. AVA_PYTHON=/opt/python3.11/bin/python3 make test\n' "$PYTHON" >&2
  exit 2
fi
# pip warns once per package about this machine's partial local indexes; keep the log readable.
quiet_pip_noise() { grep -v -e "is ignored: it is neither a file nor a directory" >&2 || true; }

key_src="$("$PYTHON" -c 'import sys; print(sys.version)')|$TORCH_SPEC|${AVA_TORCH_INDEX_URL:-}|${FORCE_CUDA:-0}|$MMCV_VERSION|$MMPOSE_VERSION|$OPENMIM_VERSION|$(cat "$ROOT/requirements/stack.txt" "$ROOT/requirements/constraints.txt" "$ROOT/tools/setup_env.sh")"
key="$(printf '%s' "$key_src" | sha256sum | cut -c1-16)"
VENV="$CACHE/venvs/$key"
STAMP="$VENV/.ava_plugins_stack_ready"
CLONE_VENV="$ROOT/.venv"
CLONE_STAMP="$CLONE_VENV/.ava_plugins_clone"

# .venv: a venv of this clone only, on top of the cached stack (see the header).
clone_venv() {
  # the editable install maps the packages setup.cfg lists: reinstall when it changes
  local want="$VENV|$ROOT|$(sha256sum "$ROOT/setup.cfg" | cut -c1-16)"
  if [ -d "$CLONE_VENV" ] && [ ! -L "$CLONE_VENV" ] && [ ! -f "$CLONE_STAMP" ]; then
    log "$CLONE_VENV was not made by this script; installing ava_plugins into it as it is"
    "$CLONE_VENV/bin/python" -m pip install -q --no-deps --no-build-isolation -e "$ROOT"
    return
  fi
  if [ -f "$CLONE_STAMP" ] && [ "$(cat "$CLONE_STAMP")" = "$want" ] \
      && "$CLONE_VENV/bin/python" -c 'import ava_plugins' 2>/dev/null; then
    return
  fi
  rm -rf "$CLONE_VENV"  # a link of the old layout, or a venv of another stack or path
  "$VENV/bin/python" -m venv --without-pip "$CLONE_VENV"
  local site stack_site f name
  site="$("$CLONE_VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')"
  stack_site="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')"
  printf 'import site; site.addsitedir(%s)\n' "'$stack_site'" > "$site/_ava_plugins_stack.pth"
  # pip comes from the stack; it installs into the running interpreter: this clone's venv.
  # Its build-backend chatter is shown only if the install fails.
  local out
  if ! out="$("$CLONE_VENV/bin/python" -m pip install -q --no-deps --no-build-isolation \
      -e "$ROOT" 2>&1)"; then
    printf '%s\n' "$out" >&2
    log "error: installing $ROOT into $CLONE_VENV failed"
    exit 1
  fi
  # The stack's console scripts (torchrun, mim, ...), run by this clone's interpreter.
  for f in "$VENV"/bin/*; do
    name="$(basename "$f")"
    [ -e "$CLONE_VENV/bin/$name" ] && continue
    head -n 1 "$f" 2>/dev/null | grep -qx "#!$VENV/bin/python[0-9.]*" || continue
    { printf '#!%s\n' "$CLONE_VENV/bin/python"; tail -n +2 "$f"; } > "$CLONE_VENV/bin/$name"
    chmod +x "$CLONE_VENV/bin/$name"
  done
  "$CLONE_VENV/bin/python" - "$ROOT" <<'EOF'
import os, sys
import ava_plugins
if not os.path.realpath(ava_plugins.__file__).startswith(os.path.realpath(sys.argv[1]) + os.sep):
    sys.exit(f'.venv imports ava_plugins from {ava_plugins.__file__}, not from {sys.argv[1]}')
EOF
  printf '%s' "$want" > "$CLONE_STAMP"
}

mkdir -p "$CACHE/venvs" "$CACHE/wheels"
if [ -f "$STAMP" ]; then
  clone_venv
  exit 0
fi

start=$(date +%s)
log "building environment $VENV (one time per machine and stack)"
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
pip_() { "$VENV/bin/python" -m pip "$@" 2> >(quiet_pip_noise); }
PIP=(pip_)
CONSTRAINTS=(-c "$ROOT/requirements/constraints.txt")
"${PIP[@]}" install -q --upgrade pip
"${PIP[@]}" install -q "${CONSTRAINTS[@]}" setuptools wheel ninja cython "numpy>=2"

log "installing $TORCH_SPEC"
# shellcheck disable=SC2086
"${PIP[@]}" install -q "${CONSTRAINTS[@]}" ${AVA_TORCH_INDEX_URL:+--extra-index-url "$AVA_TORCH_INDEX_URL"} $TORCH_SPEC

# ---- mmcv: cached wheel keyed by torch version, CUDA (or cpu) and Python ABI ----------------
read -r TORCH_VER TORCH_CUDA WANT_CUDA ABI < <("$VENV/bin/python" - <<'EOF'
import os, sys, torch
cuda = torch.version.cuda
want = bool(cuda) and (torch.cuda.is_available() or os.environ.get('FORCE_CUDA') == '1')
print(torch.__version__, f'cu{cuda}' if cuda else 'nocuda', 'cuda' if want else 'cpu',
      f'cp{sys.version_info[0]}{sys.version_info[1]}')
EOF
)
MMCV_DIR="$CACHE/wheels/mmcv-$MMCV_VERSION/torch-$TORCH_VER-$TORCH_CUDA-$ABI-ops-$WANT_CUDA"
if ! ls "$MMCV_DIR"/mmcv-*.whl >/dev/null 2>&1; then
  log "building mmcv $MMCV_VERSION with compiled ops ($WANT_CUDA) for torch $TORCH_VER; ~7 min on 2 cores"
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  "${PIP[@]}" download -q --no-deps --no-binary :all: --no-build-isolation "mmcv==$MMCV_VERSION" -d "$work"
  tar -xzf "$work"/mmcv-"$MMCV_VERSION".tar.gz -C "$work"
  # torch >= 2.6 headers require C++20; mmcv 2.1.0 hard-codes c++14/c++17 (docs/stack_notes.md, 2).
  sed -i -e 's/-std=c++14/-std=c++20/g' -e 's/-std=c++17/-std=c++20/g' "$work/mmcv-$MMCV_VERSION/setup.py"
  if [ "$WANT_CUDA" = cuda ]; then export FORCE_CUDA=1; fi
  (cd "$work/mmcv-$MMCV_VERSION" && export MMCV_WITH_OPS=1 && "${PIP[@]}" wheel -q --no-deps --no-build-isolation -w "$work/dist" .)
  mkdir -p "$MMCV_DIR.tmp.$$"
  cp "$work"/dist/mmcv-*.whl "$MMCV_DIR.tmp.$$/"
  rm -rf "$MMCV_DIR" && mv "$MMCV_DIR.tmp.$$" "$MMCV_DIR"
fi
"${PIP[@]}" install -q "${CONSTRAINTS[@]}" "$MMCV_DIR"/mmcv-*.whl

log "installing the OpenMMLab stack"
"${PIP[@]}" install -q "${CONSTRAINTS[@]}" -r "$ROOT/requirements/stack.txt"
# xtcocotools' PyPI wheel is built against numpy 1.x (docs/stack_notes.md, 4): build it here.
"${PIP[@]}" install -q "${CONSTRAINTS[@]}" --no-binary xtcocotools --no-build-isolation xtcocotools
# mmpose's chumpy requirement does not build (docs/stack_notes.md, 4); the rest is in stack.txt.
"${PIP[@]}" install -q --no-deps "mmpose==$MMPOSE_VERSION"
# openmim's openxlab/opendatalab requirement downgrades setuptools to 60.2 (docs/stack_notes.md, 5);
# mim needs neither to install, train or test: its other requirements are in stack.txt.
"${PIP[@]}" install -q --no-deps "openmim==$OPENMIM_VERSION"

# Refuse to finish with a torch other than the one asked for (a dependency could move it).
"$VENV/bin/python" - "$TORCH_VER" <<'EOF'
import sys, torch
if torch.__version__ != sys.argv[1]:
    sys.exit(f'torch changed during install: {sys.argv[1]} -> {torch.__version__}')
EOF
"$VENV/bin/python" -c 'import mmcv.ops, mmdet.models, mmpose.models'  # mmaction.models needs ava_plugins.compat
date -u +%FT%TZ > "$STAMP"
clone_venv
"$CLONE_VENV/bin/python" -c 'import ava_plugins, mmaction.models, mmdet.models, mmpose.models'
log "environment ready in $(( $(date +%s) - start )) s"
