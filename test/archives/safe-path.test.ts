import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../agent/archives/entry-reader.js';
import { EntryNameGuard, normaliseEntryName } from '../../agent/archives/safe-path.js';

const limits = { maxPathLength: 64, maxDepth: 4 };

function reason(raw: string): string | null {
  const result = normaliseEntryName(raw, limits);
  return result.ok ? null : result.reason;
}

describe('normaliseEntryName', () => {
  it('normalises harmless spellings to one relative path', () => {
    for (const raw of ['a/b', './a/b', 'a//b', 'a/./b', 'a/b/', './/a/b//']) {
      expect(normaliseEntryName(raw, limits)).toMatchObject({ ok: true, path: 'a/b' });
    }
  });

  it('rejects ../ names and absolute names', () => {
    expect(reason('../etc/passwd')).toBe('path escapes the archive root');
    expect(reason('a/../../b')).toBe('path escapes the archive root');
    expect(reason('a/../b')).toBe('path escapes the archive root');
    expect(reason('/etc/passwd')).toBe('path is absolute');
    expect(reason('\\windows\\system32')).toBe('path is absolute');
  });

  it('rejects names that climb out when backslash is read as a separator, but keeps a literal backslash', () => {
    expect(reason('..\\..\\evil')).toMatch(/escapes the archive root when '\\' is read as a separator/);
    expect(reason('a\\..\\..\\b')).toMatch(/escapes/);
    expect(normaliseEntryName('odd\\name.txt', limits)).toMatchObject({ ok: true, path: 'odd\\name.txt' });
  });

  it('rejects Windows drive letters', () => {
    expect(reason('C:/Windows/win.ini')).toBe('path starts with a Windows drive letter');
    expect(reason('c:evil')).toBe('path starts with a Windows drive letter');
    expect(reason('./D:\\x')).toBe('path starts with a Windows drive letter');
  });

  it('rejects NUL and other control characters', () => {
    expect(reason('a\u0000b')).toBe('name contains control character U+0000');
    expect(reason('line\nbreak')).toBe('name contains control character U+000A');
    expect(reason('del\u007f')).toBe('name contains control character U+007F');
    expect(reason('c1\u009b')).toBe('name contains control character U+009B');
  });

  it('rejects names decoded from invalid UTF-8', () => {
    expect(reason(Buffer.from([0x61, 0xff, 0x62]).toString('utf8'))).toMatch(/not valid UTF-8/);
    expect(reason('lone\ud800surrogate')).toMatch(/not valid UTF-8/);
  });

  it('rejects empty names and names with no components', () => {
    expect(reason('')).toBe('name is empty');
    expect(reason('.')).toBe('name has no path components');
    expect(reason('./')).toBe('name has no path components');
  });

  it("skips the root directory's own entry silently but refuses a root-named file", () => {
    const guard = new EntryNameGuard(DEFAULT_LIMITS);
    expect(guard.admit('./', 'directory')).toEqual({ ok: false, problem: null });
    expect(guard.admit('.', 'file')).toMatchObject({
      ok: false,
      problem: { kind: 'unsafe-entry', detail: "entry '.': name has no path components" },
    });
  });

  it('NFC-normalises and reports the spelling before normalisation', () => {
    const decomposed = 'cafe\u0301.txt';
    expect(normaliseEntryName(decomposed, limits)).toEqual({
      ok: true,
      path: 'caf\u00e9.txt',
      beforeNfc: decomposed,
    });
  });

  it('caps path length and depth', () => {
    expect(reason('x'.repeat(65))).toBe('path is 65 characters long; the limit is 64');
    expect(reason('a/b/c/d/e')).toBe('path has 5 components; the limit is 4');
    expect(normaliseEntryName('a/b/c/d', limits).ok).toBe(true);
  });
});

describe('EntryNameGuard', () => {
  it('judges every sibling of an entry by its parent alone, a refused one included', () => {
    const guard = new EntryNameGuard(DEFAULT_LIMITS);
    const ok = (name: string, type: 'file' | 'symlink' | 'directory' = 'file') => guard.admit(name, type).ok;
    // A path used as a directory stays one: a symlink by that name is refused, its siblings go on.
    expect([ok('d/x'), ok('d', 'symlink'), ok('d/y'), ok('d/e/z'), ok('d/w')]).toEqual([
      true,
      false,
      true,
      true,
      true,
    ]);
    // Under a file or a symlink, every sibling is refused, not only the first.
    expect([ok('f'), ok('f/x'), ok('f/y'), ok('l', 'symlink'), ok('l/a'), ok('l/b')]).toEqual([
      true,
      false,
      false,
      true,
      false,
      false,
    ]);
    // A directory entry after its children, then more children: all admitted, once each.
    expect([ok('p/q/r'), ok('p/q', 'directory'), ok('p/q/s'), ok('p/q/r')]).toEqual([
      true,
      true,
      true,
      false,
    ]);
  });

  it('refuses an exact duplicate name', () => {
    const guard = new EntryNameGuard(DEFAULT_LIMITS);
    expect(guard.admit('a/b.txt', 'file').ok).toBe(true);
    const second = guard.admit('./a//b.txt', 'file');
    expect(second).toEqual({
      ok: false,
      problem: {
        kind: 'unsafe-entry',
        path: 'a/b.txt',
        detail: "entry 'a/b.txt': duplicate of an earlier entry",
      },
    });
  });

  it('refuses the second of two names that differ only in Unicode normalisation', () => {
    const guard = new EntryNameGuard(DEFAULT_LIMITS);
    expect(guard.admit('caf\u00e9', 'file').ok).toBe(true);
    expect(guard.admit('cafe\u0301', 'file')).toMatchObject({
      ok: false,
      problem: {
        kind: 'unsafe-entry',
        path: 'caf\u00e9',
        detail: expect.stringMatching(/differs only in Unicode normalisation/),
      },
    });
  });

  it('admits names that differ only in case (legal on Linux, where drills restore)', () => {
    const guard = new EntryNameGuard(DEFAULT_LIMITS);
    expect(guard.admit('README', 'file').ok).toBe(true);
    expect(guard.admit('readme', 'file').ok).toBe(true);
  });

  it('records an absolute symlink as a filesystem backup holds it (no problem), then refuses a file written through it', () => {
    const guard = new EntryNameGuard(DEFAULT_LIMITS);
    expect(guard.admit('link', 'symlink', '/etc')).toEqual({ ok: true, path: 'link' });
    expect(guard.admit('up', 'symlink', '../../x')).toEqual({ ok: true, path: 'up' });
    const through = guard.admit('link/passwd', 'file');
    expect(through).toEqual({
      ok: false,
      problem: {
        kind: 'unsafe-entry',
        path: 'link/passwd',
        detail: "entry 'link/passwd': parent 'link' is a symlink; the entry would be written through it",
      },
    });
  });

  it('refuses entries below a file and files over directories used by earlier entries', () => {
    const guard = new EntryNameGuard(DEFAULT_LIMITS);
    expect(guard.admit('f', 'file').ok).toBe(true);
    expect(guard.admit('f/x', 'file')).toMatchObject({
      ok: false,
      problem: { detail: "entry 'f/x': parent 'f' is not a directory" },
    });
    expect(guard.admit('d/x', 'file').ok).toBe(true);
    expect(guard.admit('d', 'directory').ok).toBe(true);
    expect(guard.admit('e/x', 'file').ok).toBe(true);
    expect(guard.admit('e', 'file')).toMatchObject({
      ok: false,
      problem: { detail: "entry 'e': earlier entries use this path as a directory" },
    });
  });

  it('refuses hardlinks to outside the root or to entries not seen earlier', () => {
    const guard = new EntryNameGuard(DEFAULT_LIMITS);
    expect(guard.admit('shadow', 'hardlink', '../../etc/shadow')).toMatchObject({
      ok: false,
      problem: {
        kind: 'unsafe-entry',
        path: 'shadow',
        detail: "entry 'shadow': hardlink target '../../etc/shadow': path escapes the archive root",
      },
    });
    expect(guard.admit('early', 'hardlink', 'later')).toMatchObject({
      ok: false,
      problem: { detail: "entry 'early': hardlink target 'later' is not an earlier entry of the archive" },
    });
    expect(guard.admit('later', 'file').ok).toBe(true);
    expect(guard.admit('again', 'hardlink', './later').ok).toBe(true);
  });

  it('refuses devices, FIFOs and unknown types', () => {
    const guard = new EntryNameGuard(DEFAULT_LIMITS);
    expect(guard.admit('dev/sda', 'device')).toMatchObject({
      ok: false,
      problem: {
        kind: 'unsafe-entry',
        path: 'dev/sda',
        detail: "entry 'dev/sda': device entries are never restored",
      },
    });
    expect(guard.admit('pipe', 'fifo')).toMatchObject({
      ok: false,
      problem: { detail: "entry 'pipe': FIFO entries are never restored" },
    });
    expect(guard.admit('sock', 'other')).toMatchObject({ ok: false, problem: { kind: 'unsafe-entry' } });
  });

  it('names the raw entry when the name itself is refused, escaping control characters', () => {
    const guard = new EntryNameGuard(DEFAULT_LIMITS);
    expect(guard.admit('evil\u0000.txt', 'file')).toEqual({
      ok: false,
      problem: {
        kind: 'unsafe-entry',
        path: 'evil\u0000.txt',
        detail: "entry 'evil\\u0000.txt': name contains control character U+0000",
      },
    });
  });
});
