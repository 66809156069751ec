/** The scan text's findings tables keep long paths to one readable width, with an ellipsis in the middle. */
import { describe, expect, it } from 'vitest';
import { shortenPath, TABLE_PATH_CHARS } from '../../agent/cli/scan-report-text.js';

describe('paths in findings tables', () => {
  it('a 6,043-character path is cut to the table width around an ellipsis, keeping its start and file name', () => {
    const long = `deep/${'a/'.repeat(3017)}notes.txt`;
    expect(long.length).toBe(6048);
    const short = shortenPath(long);
    expect(short.length).toBe(TABLE_PATH_CHARS);
    expect(short.startsWith('deep/a/')).toBe(true);
    expect(short.endsWith('/notes.txt')).toBe(true);
    expect(short).toContain('…');
    expect(shortenPath('db/orders.sql')).toBe('db/orders.sql');
  });
});
