#!/usr/bin/env bash
# The static checks of .clang-tidy over the production code (host/, sdk/, plugins/).
#   tests/tidy.sh [BUILD_DIR]   BUILD_DIR (default build) must hold compile_commands.json
# Exits 1 on any finding, 77 (skipped) when clang-tidy-14 is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
tool=$(command -v clang-tidy-14 || command -v clang-tidy || true)
[ -n "$tool" ] || { echo "tidy: clang-tidy-14 not installed (packaging/install-deps.sh --test)"; exit 77; }
[ -f "$build/compile_commands.json" ] || { echo "tidy: no $build/compile_commands.json (configure with cmake first)"; exit 1; }
mapfile -t files < <(git ls-files 'host/*.cpp' 'sdk/*.cpp' 'plugins/*.cpp')
echo "tidy: ${#files[@]} files"
if printf '%s\n' "${files[@]}" | xargs -P2 -n 8 "$tool" -p "$build" --quiet 2>/dev/null | grep -E 'warning:|error:'; then
  echo "tidy: findings above"
  exit 1
fi
echo "tidy: clean"
