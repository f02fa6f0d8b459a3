#!/usr/bin/env bash
# Regenerates every generated file in place: the Lua generators' output (generated/, docs/)
# and the committed Ragel parsers (runtime/*/*_parser.c). Usage: scripts/regen.sh [OUTDIR]
# With OUTDIR the files are written under OUTDIR instead of the tree (the drift check uses that).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root}"
cd "$root"
lua5.4 codegen/gen.lua --root "$root" --out "$out"
for rl in runtime/*/*_parser.rl; do
  [ -e "$rl" ] || continue
  c="${rl%.rl}.c"
  mkdir -p "$out/$(dirname "$c")"
  ragel -C -G2 -I "$(dirname "$rl")" -o "$out/$c.tmp" "$rl"
  # ragel writes #line directives naming its input and its output file; name both relative to
  # the root (the output by its final name) so the result does not depend on OUTDIR.
  sed -i "s|$out/$c.tmp|$c|g; s|$root/||g" "$out/$c.tmp"
  mv "$out/$c.tmp" "$out/$c"
done
