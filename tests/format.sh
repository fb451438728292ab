#!/usr/bin/env bash
# The tree's C++ in the house style (.clang-format at the top).
#   tests/format.sh          lists the files clang-format would change; exits 1 if any
#   tests/format.sh --fix    rewrites them
# Exits 77 (skipped) when clang-format-14 is missing: packaging/install-deps.sh --test installs it.
set -euo pipefail
cd "$(dirname "$0")/.."
tool=$(command -v clang-format-14 || command -v clang-format || true)
[ -n "$tool" ] || { echo "format: clang-format-14 not installed (packaging/install-deps.sh --test)"; exit 77; }
mapfile -t files < <(git ls-files '*.cpp' '*.h' 2>/dev/null || find host sdk plugins tests bench -name '*.cpp' -o -name '*.h')
if [ "${1:-}" = "--fix" ]; then
  printf '%s\n' "${files[@]}" | xargs -P2 -n 20 "$tool" -i --style=file
  exit 0
fi
bad=0
for f in "${files[@]}"; do
  if ! "$tool" --style=file --dry-run -Werror "$f" >/dev/null 2>&1; then
    echo "format: $f differs from .clang-format (tests/format.sh --fix)"
    bad=1
  fi
done
[ "$bad" = 0 ] && echo "format: ${#files[@]} files in the house style"
exit "$bad"
