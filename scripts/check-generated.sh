#!/usr/bin/env bash
# Drift check: regenerates everything into a temporary folder and fails on any difference with
# the committed files, printing the one command that fixes it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$root/scripts/regen.sh" "$tmp"
status=0
while IFS= read -r f; do
  rel="${f#$tmp/}"
  if ! cmp -s "$f" "$root/$rel"; then
    echo "generated file out of date: $rel" >&2
    diff -u "$root/$rel" "$f" | head -20 >&2 || true
    status=1
  fi
done < <(find "$tmp" -type f | sort)
if [ $status -ne 0 ]; then
  echo "Fix: make regen && git add generated docs runtime" >&2
  exit 1
fi
echo "generated files up to date"
