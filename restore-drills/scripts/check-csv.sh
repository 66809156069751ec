#!/bin/sh
# check-csv.sh [--min-rows N] DIR
# Every *.csv under DIR (in the restored snapshot) has a header, and every record has as many
# fields as its header (RFC 4180 quoting: commas, quotes and newlines inside "…" are data).
# With --min-rows, each file must hold at least N data records. Prints one summary line; on
# failure names the file and record on stderr and exits 1.
set -eu
min_rows=0
if [ "${1:-}" = "--min-rows" ]; then min_rows=$2; shift 2; fi
dir=${1:?usage: check-csv.sh [--min-rows N] DIR}
[ -d "$dir" ] || { echo "check-csv: $dir is not a directory in the restored snapshot" >&2; exit 1; }

files=0
rows=0
bad=0
list=$(mktemp)
trap 'rm -f "$list"' EXIT
find "$dir" -type f -name '*.csv' | sort > "$list"
while IFS= read -r file; do
  files=$((files + 1))
  result=$(awk -v min="$min_rows" -v name="$file" '
    function fields(text,    i, c, n) {
      n = 1
      for (i = 1; i <= length(text); i++) {
        c = substr(text, i, 1)
        if (c == "\"") quoted = !quoted
        else if (c == "," && !quoted) n++
      }
      return n
    }
    {
      if (!pending) { count = 0; start = NR }
      count += fields($0) - (pending ? 1 : 0)
      pending = quoted
      if (pending) next
      if (start == 1) { want = count; next }
      records++
      if (count != want) { printf "%s: record at line %d has %d fields, the header has %d\n", name, start, count, want > "/dev/stderr"; broken++ }
    }
    END {
      if (NR == 0) { printf "%s: empty, no header\n", name > "/dev/stderr"; broken++ }
      if (pending) { printf "%s: ends inside a quoted field\n", name > "/dev/stderr"; broken++ }
      if (records < min) { printf "%s: %d data records, expected at least %d\n", name, records, min > "/dev/stderr"; broken++ }
      print records + 0, broken + 0
    }' "$file")
  rows=$((rows + ${result% *}))
  bad=$((bad + ${result#* }))
done < "$list"
[ "$files" -gt 0 ] || { echo "check-csv: no CSV files under $dir" >&2; exit 1; }
if [ "$bad" -gt 0 ]; then echo "check-csv: $bad problems in $files CSV files" >&2; exit 1; fi
echo "ok: $files CSV files, $rows records, every record matches its header"
