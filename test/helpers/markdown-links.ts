/**
 * Relative links in Markdown and the anchors they point at, as GitHub renders them: enough to check
 * that README.md and docs/*.md still point at files and headings that exist after a page moves.
 *
 * Contract: `headingAnchors` returns the ids GitHub gives a file's headings (lower case, punctuation
 * dropped, spaces to hyphens, repeats suffixed `-1`, `-2`…) plus explicit `<a id|name="…">`
 * targets; `relativeLinks` returns every `[text](target)` / `![alt](target)` outside fenced code and
 * inline code whose target is not an absolute URL (no scheme, not `//…`). Pure: text in, data out.
 */

/** One link found in a Markdown text: where it points and the line it is on (1-based). */
export interface MarkdownLink {
  target: string;
  line: number;
}

/** GitHub's heading id for one heading text (before de-duplication). */
export function slugify(heading: string): string {
  return heading
    .replace(/<[^>]*>/g, '') // inline HTML tags
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links keep their text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** Lines of `text` outside fenced code blocks, with their 1-based numbers. */
function proseLines(text: string): { text: string; line: number }[] {
  const out: { text: string; line: number }[] = [];
  let fence: string | null = null;
  text.split('\n').forEach((raw, index) => {
    const marker = /^\s*(`{3,}|~{3,})/.exec(raw)?.[1];
    if (fence !== null) {
      if (marker !== undefined && marker[0] === fence[0] && marker.length >= fence.length) fence = null;
      return;
    }
    if (marker !== undefined) {
      fence = marker;
      return;
    }
    out.push({ text: raw, line: index + 1 });
  });
  return out;
}

/** Every anchor a link may name in this Markdown text. */
export function headingAnchors(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const { text: line } of proseLines(text)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading !== undefined) {
      const base = slugify(heading);
      const count = seen.get(base) ?? 0;
      seen.set(base, count + 1);
      anchors.add(count === 0 ? base : `${base}-${count}`);
    }
    for (const match of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(match[1]!);
  }
  return anchors;
}

/** Every relative link in this Markdown text (code spans and fenced code are not links; a link's text may wrap lines). */
export function relativeLinks(text: string): MarkdownLink[] {
  const prose = new Map(proseLines(text).map(({ text: line, line: number }) => [number, line]));
  // Fenced lines become empty, so offsets still map to line numbers; code spans become spaces.
  // A code span may wrap lines but not cross a blank line (the end of a paragraph).
  const lines = text.split('\n').map((_, index) => prose.get(index + 1) ?? '');
  const flat = lines
    .join('\n')
    .replace(/(`+)(?:(?!\n\s*\n)[\s\S])*?\1/g, (span) => span.replace(/[^\n]/g, ' '));
  const links: MarkdownLink[] = [];
  for (const match of flat.matchAll(/!?\[(?:[^\][]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
    const target = match[1]!;
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) continue;
    links.push({ target, line: flat.slice(0, match.index).split('\n').length });
  }
  return links;
}
