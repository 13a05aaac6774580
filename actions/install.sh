#!/usr/bin/env bash
# mlops-ci for the actions in this folder, installed from the same ref as the action, so
# the action and the CLI always match.
#   install.sh locate ACTION_PATH        → key=… and venv=… lines (for $GITHUB_OUTPUT)
#   install.sh install ACTION_PATH VENV  → VENV/bin/mlops-ci, installed when missing
# The key is the commit of the action's checkout (or, without git, a hash of the sources);
# a virtual environment restored from the cache under that key is used as it is.
set -euo pipefail
mode="${1:?locate or install}"
action_path="${2:?the action folder}"
source_root="$(cd "$action_path/../.." && pwd)"

sources_hash() {
  (cd "$source_root" && find pyproject.toml setup.py mlops_ci -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-40)
}

case "$mode" in
  locate)
    key="$(git -C "$source_root" rev-parse HEAD 2>/dev/null || sources_hash)"
    root="${RUNNER_TOOL_CACHE:-${RUNNER_TEMP:-/tmp}}/mlops-ci"
    echo "key=$key"
    echo "venv=$root/$key"
    ;;
  install)
    venv="${3:?the virtual environment folder}"
    if [ ! -x "$venv/bin/mlops-ci" ]; then
      echo "Installing mlops-ci from $source_root into $venv" >&2
      python3 -m venv "$venv" >&2
      "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$source_root" >&2
    fi
    "$venv/bin/mlops-ci" --version
    ;;
  *)
    echo "install.sh: unknown mode $mode (locate or install)" >&2
    exit 2
    ;;
esac
