/** Writing results: one JSON document on stdout with --json, human text otherwise. Logs go to stderr. */

/** Prints one JSON document on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Prints lines of human-readable text on stdout. */
export function printLines(lines: readonly string[]): void {
  process.stdout.write(lines.length ? `${lines.join('\n')}\n` : '');
}

/** Pads cells into aligned columns. */
export function table(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, column) => (widths[column] = Math.max(widths[column] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ').trimEnd());
}
