#!/usr/bin/env bash
# Installs the Python package with pip, offline, from the source tree into a temporary
# --target folder (meson-python builds it), then checks what a user gets: the package
# imports from there in a fresh interpreter, its public names exist, the waitron-serve
# console script is the package's (not the C++ program), the PasteDeploy entry point is
# declared, and `python3 -m waitron --help` works.
#   check_pip_install.sh BUILD_DIR SOURCE_DIR PIP_BUILD_DIR
# PIP_BUILD_DIR is meson-python's build folder; it is kept between runs so that only the
# first run compiles everything.
set -euo pipefail
build=$1
source=$2
pip_build=$3
python=/usr/bin/python3

target=$(mktemp -d "${WAITRON_TEST_TMPDIR:-/tmp}/pip.XXXXXX")
# meson-python writes its native file into the source tree; remove it unless it was there.
native_file="$source/.mesonpy-native-file.ini"
keep_native_file=0
[ -e "$native_file" ] && keep_native_file=1
cleanup() {
  rm -rf "$target"
  if [ "$keep_native_file" = 0 ]; then rm -f "$native_file"; fi
}
trap cleanup EXIT

mkdir -p "$pip_build"
# Only what the wheel installs is compiled (not the unit tests, fuzz replays and
# examples): the installed targets of the main build, minus the programs, which a pip
# build does not install (install_native=false). Both build folders have the same layout.
outputs=$("$python" - "$build" <<'EOF'
import json, os, sys
build = sys.argv[1]
with open(os.path.join(build, "meson-info", "intro-install_plan.json")) as f:
    targets = json.load(f).get("targets", {})
print(",".join(os.path.relpath(path, build) for path, info in sorted(targets.items())
               if not info["destination"].startswith("{bindir}")))
EOF
)
# --target installs nothing system-wide, so Debian's PEP 668 marker does not apply (pip
# skips that check for --target); no index, no dependencies, Debian's meson-python.
start=$(date +%s)
if ! "$python" -m pip install --no-build-isolation --no-deps --no-index --no-cache-dir \
    --disable-pip-version-check --quiet \
    --config-settings=builddir="$pip_build" \
    --config-settings=compile-args=--ninja-args="$outputs" \
    --config-settings=install-args=--no-rebuild \
    --target "$target" "$source" >"$target.log" 2>&1; then
  cat "$target.log"
  rm -f "$target.log"
  echo "pip install failed"
  exit 1
fi
rm -f "$target.log"
echo "pip install took $(( $(date +%s) - start )) s"

script="$target/bin/waitron-serve"
if [ ! -f "$script" ]; then
  echo "no waitron-serve script in $target/bin"
  ls -R "$target" | head -50
  exit 1
fi
if [ "$(head -c 4 "$script" | od -An -c | tr -d ' ')" = '177ELF' ]; then
  echo "bin/waitron-serve is the C++ program, not the package's console script"
  exit 1
fi
head -n 1 "$script" | grep -q python || { echo "bin/waitron-serve is not a Python script"; exit 1; }

# A fresh interpreter that sees only the installed copy (not build/python or the source).
cd "$target"
export PYTHONPATH=$target
"$python" - "$target" <<'EOF'
import importlib.metadata
import os
import sys

target = sys.argv[1]
import waitron
import waitron.adjustments
import waitron.proxy_headers
import waitron.server

assert os.path.realpath(waitron.__file__).startswith(os.path.realpath(target)), waitron.__file__
assert waitron.__version__ == "0.1.0", waitron.__version__
assert callable(waitron.serve) and callable(waitron.serve_paste)
assert isinstance(waitron.server.TcpWSGIServer, type)
assert isinstance(waitron.adjustments.Adjustments, type)
assert callable(waitron.proxy_headers.proxy_headers_middleware)
assert hasattr(waitron._waitron, "Server"), dir(waitron._waitron)

dists = importlib.metadata.distributions(path=[target])
(dist,) = [d for d in dists if d.metadata["Name"] == "waitron"]
assert dist.version == "0.1.0", dist.version
points = {(e.group, e.name): e.value for e in dist.entry_points}
assert points[("console_scripts", "waitron-serve")] == "waitron.runner:main", points
assert points[("paste.server_runner", "main")] == "waitron:serve_paste", points
print("import check passed:", waitron.__file__)
EOF

"$python" -m waitron --help >/dev/null || { echo "python3 -m waitron --help failed"; exit 1; }
"$script" --help | head -n 3 | grep -q "waitron-serve" ||
  { echo "waitron-serve --help failed"; exit 1; }
echo "pip install check passed"
