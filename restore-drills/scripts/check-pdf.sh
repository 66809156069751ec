#!/bin/sh
# check-pdf.sh [--min-files N] DIR
# Every *.pdf under DIR starts with the %PDF- header and ends with a cross-reference pointer and
# the %%EOF marker — a PDF cut short or overwritten by ransomware fails. With --min-files, DIR must
# hold at least N PDFs.
set -eu
min_files=1
if [ "${1:-}" = "--min-files" ]; then min_files=$2; shift 2; fi
dir=${1:?usage: check-pdf.sh [--min-files N] DIR}
[ -d "$dir" ] || { echo "check-pdf: $dir is not a directory in the restored snapshot" >&2; exit 1; }

files=0
bad=0
list=$(mktemp)
trap 'rm -f "$list"' EXIT
find "$dir" -type f -name '*.pdf' | sort > "$list"
while IFS= read -r file; do
  files=$((files + 1))
  if [ "$(head -c 5 "$file")" != "%PDF-" ]; then echo "$file: no %PDF- header" >&2; bad=$((bad + 1)); continue; fi
  tail=$(tail -c 1024 "$file" | tr -d '\000')
  case $tail in
    *startxref*%%EOF*) ;;
    *) echo "$file: no startxref/%%EOF trailer (cut short or damaged)" >&2; bad=$((bad + 1)) ;;
  esac
done < "$list"
if [ "$files" -lt "$min_files" ]; then echo "check-pdf: $files PDFs under $dir, expected at least $min_files" >&2; exit 1; fi
if [ "$bad" -gt 0 ]; then echo "check-pdf: $bad of $files PDFs are damaged" >&2; exit 1; fi
echo "ok: $files PDFs have a header and trailer"
