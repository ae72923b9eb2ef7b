#!/usr/bin/env bash
# Set up the peers of benchmarks/bench_synthesize.py, each in its own virtual environment in the
# repository root (ignored by git and ruff):
#   .venv-sdv        SDV's GaussianCopulaSynthesizer
#   .venv-smartnoise smartnoise-synth's MST (differentially private)
# torch is installed first, pinned to the CPU build on PyPI (torch==2.13.0): both peers pull
# torch through their deep-learning synthesizers, and an unpinned requirement pulls a
# multi-GB CUDA build. The versions are the ones measured in the README (both install on
# Python 3.11 and bring pandas 2.3 and numpy 2.4). Run from the repository root:
#   bash benchmarks/setup_synth_peers.sh
set -euo pipefail
PYTHON=${PYTHON:-python3.11}
TORCH="torch==2.13.0"
SDV="sdv==1.38.5"
SMARTNOISE="smartnoise-synth==1.0.8"

make_env() {  # make_env DIR PACKAGE...
  local dir=$1; shift
  if [ ! -x "$dir/bin/python" ]; then
    "$PYTHON" -m venv "$dir"
  fi
  "$dir/bin/pip" install -q --upgrade pip
  "$dir/bin/pip" install -q "$TORCH"
  "$dir/bin/pip" install -q "$TORCH" "$@"
  "$dir/bin/python" -c "import importlib.metadata as m, sys; \
print(sys.argv[1], *(f'{p}=={m.version(p)}' for p in sys.argv[2:]))" "$dir" torch pandas numpy "${@%%=*}"
}

make_env .venv-sdv "$SDV"
make_env .venv-smartnoise "$SMARTNOISE"
