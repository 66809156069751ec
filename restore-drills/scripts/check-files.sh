#!/bin/sh
# check-files.sh PATH...
# Each PATH (relative to the restored snapshot) is a regular, non-empty file.
set -eu
[ "$#" -gt 0 ] || { echo "usage: check-files.sh PATH..." >&2; exit 2; }
missing=0
for path in "$@"; do
  if [ ! -f "$path" ]; then echo "$path: missing or not a regular file" >&2; missing=$((missing + 1))
  elif [ ! -s "$path" ]; then echo "$path: empty" >&2; missing=$((missing + 1))
  fi
done
if [ "$missing" -gt 0 ]; then echo "check-files: $missing of $# files missing or empty" >&2; exit 1; fi
echo "ok: $# files present"
