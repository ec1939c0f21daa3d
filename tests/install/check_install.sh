#!/usr/bin/env bash
# Installs the build into a temporary DESTDIR, builds examples/embed.cpp with nothing but
# the installed headers and `pkg-config waitron`, and runs it.
#   check_install.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
source=$2
dest=$(mktemp -d "${WAITRON_TEST_TMPDIR:-/tmp}/install.XXXXXX")
trap 'rm -rf "$dest"' EXIT

meson install -C "$build" --no-rebuild --destdir "$dest" >/dev/null
pcdir=$(dirname "$(find "$dest" -name waitron.pc | head -n1)")
[ -f "$pcdir/waitron.pc" ] || { echo "waitron.pc was not installed"; exit 1; }
export PKG_CONFIG_PATH=$pcdir PKG_CONFIG_SYSROOT_DIR=$dest
flags=$(pkg-config --cflags --libs waitron)
echo "pkg-config: $flags"
# Only the installed headers: the source tree is not on the include path.
c++ -std=c++20 -Wall -Wextra -Werror "$source/examples/embed.cpp" $flags -o "$dest/embed"
LD_LIBRARY_PATH="$(dirname "$pcdir")" "$dest/embed"
# Every public header compiles on its own.
for h in "$dest"/usr/local/include/waitron/*.hpp; do
  printf '#include <waitron/%s>\n' "$(basename "$h")" |
    c++ -std=c++20 -Wall -Wextra -Werror -fsyntax-only -x c++ - $(pkg-config --cflags waitron)
done
echo "install check passed"
