/**
 * The README and the pages under docs/ point only at files and headings that exist: every relative
 * link resolves to a file or folder of the repository, and every `#anchor` (in the same page or in
 * another Markdown file) names one of that file's headings. Splitting or renaming a page breaks
 * this test, not a reader's click. Also: the README stays short, and every docs page is reachable
 * from the README and from the docs index.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { headingAnchors, relativeLinks, slugify } from '../helpers/markdown-links.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** README.md and every Markdown page under docs/ (not generated manifests). */
function pages(): string[] {
  const docs = readdirSync(path.join(ROOT, 'docs'), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.md'))
    .map((name) => path.join('docs', name));
  return ['README.md', ...docs.sort()];
}

/** Every broken link of one page, as `page:line target — why`. */
function brokenLinks(page: string, text: string, read: (file: string) => string | null): string[] {
  const broken: string[] = [];
  for (const { target, line } of relativeLinks(text)) {
    const hash = target.indexOf('#');
    const file = hash === -1 ? target : target.slice(0, hash);
    const anchor = hash === -1 ? null : decodeURIComponent(target.slice(hash + 1));
    const resolved = file === '' ? page : path.join(path.dirname(page), decodeURIComponent(file));
    if (resolved.startsWith('..')) {
      broken.push(`${page}:${line} ${target} — outside the repository`);
      continue;
    }
    const content = file === '' ? text : read(resolved);
    if (content === null) {
      broken.push(`${page}:${line} ${target} — no such file`);
      continue;
    }
    if (anchor !== null && resolved.endsWith('.md') && !headingAnchors(content).has(anchor)) {
      broken.push(`${page}:${line} ${target} — no heading #${anchor} in ${resolved}`);
    }
  }
  return broken;
}

/** The repository's files as the checker reads them: text of a file, '' for a folder, null when absent. */
function readRepo(file: string): string | null {
  const full = path.join(ROOT, file);
  if (!existsSync(full)) return null;
  return statSync(full).isDirectory() ? '' : readFileSync(full, 'utf8');
}

describe('links in the README and docs/', () => {
  it('resolve: every relative link names an existing file and every #anchor an existing heading', () => {
    const broken = pages().flatMap((page) =>
      brokenLinks(page, readFileSync(path.join(ROOT, page), 'utf8'), readRepo),
    );
    expect(broken).toEqual([]);
  });

  it('the checker itself catches a missing file, a missing heading and a missing anchor in the same page', () => {
    const files: Record<string, string> = { 'docs/a.md': '# Title\n\n## Exit codes\n', 'README.md': '' };
    const page = [
      '# Top',
      '[ok](docs/a.md#exit-codes) [ok too](#top) [dir](docs) `[not a link](nowhere.md)`',
      '```',
      '[in code](nowhere.md)',
      '```',
      '[gone](docs/b.md) [bad anchor](docs/a.md#exit-code) [bad local](#bottom) [web](https://example.com/x#y) [a link',
      'that wraps](docs/c.md)',
    ].join('\n');
    const read = (file: string) => (file === 'docs' ? '' : (files[file] ?? null));
    expect(brokenLinks('README.md', page, read)).toEqual([
      'README.md:6 docs/b.md — no such file',
      'README.md:6 docs/a.md#exit-code — no heading #exit-code in docs/a.md',
      'README.md:6 #bottom — no heading #bottom in README.md',
      'README.md:6 docs/c.md — no such file',
    ]);
  });

  it('slugs headings as GitHub does, repeats numbered', () => {
    expect(slugify('Daemon (`vouch serve`)')).toBe('daemon-vouch-serve');
    expect(slugify('`vouch scan --json`')).toBe('vouch-scan---json');
    expect(slugify('Destroyed backups: findings about the store itself')).toBe(
      'destroyed-backups-findings-about-the-store-itself',
    );
    expect([...headingAnchors('## Notes\n### Notes\n<a id="x"></a>')]).toEqual(['notes', 'notes-1', 'x']);
  });

  it('the README stays under 250 lines and links every docs page; the docs index links every page too', () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    expect(readme.trimEnd().split('\n').length).toBeLessThan(250);
    const docs = pages().filter((page) => page.startsWith('docs/') && page !== 'docs/README.md');
    const targets = (page: string, text: string) =>
      new Set(relativeLinks(text).map(({ target }) => path.join(path.dirname(page), target.split('#')[0]!)));
    const fromReadme = targets('README.md', readme);
    const fromIndex = targets('docs/README.md', readFileSync(path.join(ROOT, 'docs/README.md'), 'utf8'));
    expect(docs.filter((page) => !fromReadme.has(page))).toEqual([]);
    expect(docs.filter((page) => !fromIndex.has(page))).toEqual([]);
  });
});
