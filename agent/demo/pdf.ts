/**
 * A minimal, real PDF 1.4 writer: one A4 page of text and rules in the standard Helvetica fonts,
 * the content stream FlateDecode-compressed, a classic xref table with exact byte offsets, a
 * trailer with /ID and a correct startxref. Enough for invoices that any PDF reader opens.
 */
import { createHash } from 'node:crypto';
import { deflateSync } from 'node:zlib';

/** A4 in points. */
export const A4 = { width: 595.28, height: 841.89 } as const;

/** One run of text; `align: 'right'` puts the text's right edge at `x`. */
export interface PdfText {
  x: number;
  y: number;
  text: string;
  size?: number;
  bold?: boolean;
  align?: 'left' | 'right';
}

/** A straight line (table rules). */
export interface PdfRule {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  width?: number;
  grey?: number;
}

/** A filled rectangle (table header shading). */
export interface PdfBox {
  x: number;
  y: number;
  w: number;
  h: number;
  grey: number;
}

export interface PdfPage {
  texts: readonly PdfText[];
  rules?: readonly PdfRule[];
  boxes?: readonly PdfBox[];
}

export interface PdfInfo {
  title: string;
  author: string;
  subject?: string;
  creator: string;
  producer: string;
  created: Date;
}

// Helvetica advance widths (per 1000 em) for the characters invoices use; others count as 556.
const NARROW = new Map<string, number>([
  [' ', 278],
  [',', 278],
  ['.', 278],
  ['-', 333],
  ['/', 278],
  [':', 278],
  ['(', 333],
  [')', 333],
  ['%', 889],
  ['I', 278],
  ['J', 500],
  ['M', 833],
  ['W', 944],
  ['m', 833],
  ['w', 722],
  ['i', 222],
  ['j', 222],
  ['l', 222],
  ['f', 278],
  ['t', 278],
  ['r', 333],
  ['s', 500],
  ['c', 500],
  ['k', 500],
  ['v', 500],
  ['x', 500],
  ['y', 500],
  ['z', 500],
]);

/** Approximate width of `text` in points (good enough to right-align numbers). */
export function textWidth(text: string, size: number): number {
  let units = 0;
  for (const char of text) units += NARROW.get(char) ?? (char >= 'A' && char <= 'Z' ? 667 : 556);
  return (units * size) / 1000;
}

/** A PDF literal string: escapes \, ( and ); characters outside WinAnsi become '?'. */
export function pdfString(text: string): string {
  let out = '(';
  for (const char of text) {
    const code = char.codePointAt(0) ?? 63;
    if (char === '\\' || char === '(' || char === ')') out += `\\${char}`;
    else if (code >= 0x20 && code < 0x7f) out += char;
    else if (code >= 0xa0 && code <= 0xff) out += `\\${code.toString(8).padStart(3, '0')}`;
    else out += '?';
  }
  return `${out})`;
}

/** PDF date string with the offset of Japan (the retailer's documents are local time). */
export function pdfDate(date: Date, offsetMinutes = 9 * 60): string {
  const local = new Date(date.getTime() + offsetMinutes * 60_000);
  const pad = (n: number) => String(n).padStart(2, '0');
  const sign = offsetMinutes >= 0 ? '+' : '-';
  const abs = Math.abs(offsetMinutes);
  return (
    `D:${local.getUTCFullYear()}${pad(local.getUTCMonth() + 1)}${pad(local.getUTCDate())}` +
    `${pad(local.getUTCHours())}${pad(local.getUTCMinutes())}${pad(local.getUTCSeconds())}` +
    `${sign}${pad(Math.floor(abs / 60))}'${pad(abs % 60)}'`
  );
}

const fmt = (n: number) => Number(n.toFixed(2)).toString();

function contentStream(page: PdfPage): string {
  const ops: string[] = [];
  for (const box of page.boxes ?? [])
    ops.push(`${fmt(box.grey)} g ${fmt(box.x)} ${fmt(box.y)} ${fmt(box.w)} ${fmt(box.h)} re f`);
  if (page.boxes?.length) ops.push('0 g');
  for (const rule of page.rules ?? []) {
    ops.push(
      `${fmt(rule.grey ?? 0)} G ${fmt(rule.width ?? 0.5)} w ${fmt(rule.x1)} ${fmt(rule.y1)} m ${fmt(rule.x2)} ${fmt(rule.y2)} l S`,
    );
  }
  for (const text of page.texts) {
    const size = text.size ?? 10;
    const x = text.align === 'right' ? text.x - textWidth(text.text, size) : text.x;
    ops.push(
      `BT /${text.bold ? 'F2' : 'F1'} ${fmt(size)} Tf ${fmt(x)} ${fmt(text.y)} Td ${pdfString(text.text)} Tj ET`,
    );
  }
  return `${ops.join('\n')}\n`;
}

/** Builds a one-page PDF 1.4 document. Deterministic: the same page and info give the same bytes. */
export function buildPdf(page: PdfPage, info: PdfInfo): Buffer {
  const content = deflateSync(Buffer.from(contentStream(page), 'latin1'), { level: 9 });
  const created = pdfDate(info.created);
  const infoDict = [
    `/Title ${pdfString(info.title)}`,
    `/Author ${pdfString(info.author)}`,
    ...(info.subject ? [`/Subject ${pdfString(info.subject)}`] : []),
    `/Creator ${pdfString(info.creator)}`,
    `/Producer ${pdfString(info.producer)}`,
    `/CreationDate ${pdfString(created)}`,
    `/ModDate ${pdfString(created)}`,
  ].join(' ');
  const objects: Buffer[] = [
    Buffer.from('<< /Type /Catalog /Pages 2 0 R >>'),
    Buffer.from('<< /Type /Pages /Kids [3 0 R] /Count 1 >>'),
    Buffer.from(
      `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${A4.width} ${A4.height}] ` +
        '/Resources << /Font << /F1 4 0 R /F2 5 0 R >> /ProcSet [/PDF /Text] >> /Contents 6 0 R >>',
    ),
    Buffer.from('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>'),
    Buffer.from('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>'),
    Buffer.concat([
      Buffer.from(`<< /Length ${content.length} /Filter /FlateDecode >>\nstream\n`),
      content,
      Buffer.from('\nendstream'),
    ]),
    Buffer.from(`<< ${infoDict} >>`, 'latin1'),
  ];

  // Header with a binary comment so transfer tools treat the file as binary.
  const parts: Buffer[] = [Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
  let offset = parts[0]?.length ?? 0;
  const offsets: number[] = [];
  objects.forEach((body, index) => {
    offsets.push(offset);
    const object = Buffer.concat([Buffer.from(`${index + 1} 0 obj\n`), body, Buffer.from('\nendobj\n')]);
    parts.push(object);
    offset += object.length;
  });

  const id = createHash('md5').update(Buffer.concat(parts)).digest('hex').toUpperCase();
  const xref = [
    'xref',
    `0 ${objects.length + 1}`,
    '0000000000 65535 f\r',
    ...offsets.map((at) => `${String(at).padStart(10, '0')} 00000 n\r`),
    'trailer',
    `<< /Size ${objects.length + 1} /Root 1 0 R /Info 7 0 R /ID [<${id}> <${id}>] >>`,
    'startxref',
    String(offset),
    '%%EOF',
    '',
  ].join('\n');
  parts.push(Buffer.from(xref, 'latin1'));
  return Buffer.concat(parts);
}
