/** Renders one invoice (a qualified invoice under Japan's invoice system) as a one-page PDF. */
import type { Customer, Invoice, Order, Product } from './kanda.js';
import { COMPANY } from './kanda.js';
import type { PdfBox, PdfRule, PdfText } from './pdf.js';
import { A4, buildPdf } from './pdf.js';

const yen = (n: number) => `JPY ${n.toLocaleString('en-US')}`;
const isoDate = (d: Date) => d.toISOString().slice(0, 10);

export function renderInvoicePdf(
  invoice: Invoice,
  order: Order,
  customer: Customer,
  products: ReadonlyMap<number, Product>,
): Buffer {
  const texts: PdfText[] = [];
  const rules: PdfRule[] = [];
  const boxes: PdfBox[] = [];
  const left = 50;
  const right = A4.width - 50;
  let y = A4.height - 60;

  texts.push(
    { x: left, y, text: COMPANY.name, size: 15, bold: true },
    { x: right, y, text: 'INVOICE', size: 20, bold: true, align: 'right' },
  );
  y -= 16;
  for (const line of [
    ...COMPANY.address,
    `Tel ${COMPANY.phone}  ${COMPANY.email}`,
    `Registration No. ${COMPANY.registration}`,
  ]) {
    texts.push({ x: left, y, text: line, size: 9 });
    y -= 12;
  }

  y -= 14;
  const meta: [string, string][] = [
    ['Invoice no.', invoice.number],
    ['Invoice date', isoDate(order.orderedAt)],
    ['Order no.', String(order.id)],
    ['Customer no.', `C-${String(customer.id).padStart(5, '0')}`],
    ['Payment due', isoDate(invoice.dueDate)],
  ];
  let metaY = y;
  for (const [label, value] of meta) {
    texts.push(
      { x: 360, y: metaY, text: label, size: 9, bold: true },
      { x: right, y: metaY, text: value, size: 9, align: 'right' },
    );
    metaY -= 13;
  }
  texts.push({ x: left, y, text: 'Bill to', size: 9, bold: true });
  y -= 14;
  for (const line of [
    customer.company,
    `Attn. ${customer.contact}`,
    customer.address,
    `Postal code ${customer.postalCode}`,
  ]) {
    texts.push({ x: left, y, text: line, size: 10 });
    y -= 13;
  }

  y = Math.min(y, metaY) - 24;
  const columns = { no: left + 4, sku: left + 26, item: left + 112, qty: 400, unit: 470, amount: right - 4 };
  boxes.push({ x: left, y: y - 5, w: right - left, h: 17, grey: 0.88 });
  texts.push(
    { x: columns.no, y, text: '#', size: 9, bold: true },
    { x: columns.sku, y, text: 'SKU', size: 9, bold: true },
    { x: columns.item, y, text: 'Description', size: 9, bold: true },
    { x: columns.qty, y, text: 'Qty', size: 9, bold: true, align: 'right' },
    { x: columns.unit, y, text: 'Unit price', size: 9, bold: true, align: 'right' },
    { x: columns.amount, y, text: 'Amount', size: 9, bold: true, align: 'right' },
  );
  y -= 18;
  for (const line of order.lines) {
    const product = products.get(line.productId);
    const name = product?.name ?? `Product ${line.productId}`;
    texts.push(
      { x: columns.no, y, text: String(line.lineNo), size: 9 },
      { x: columns.sku, y, text: product?.sku ?? '-', size: 8 },
      { x: columns.item, y, text: name.length > 46 ? `${name.slice(0, 45)}...` : name, size: 9 },
      { x: columns.qty, y, text: String(line.quantity), size: 9, align: 'right' },
      { x: columns.unit, y, text: line.unitPrice.toLocaleString('en-US'), size: 9, align: 'right' },
      {
        x: columns.amount,
        y,
        text: (line.unitPrice * line.quantity).toLocaleString('en-US'),
        size: 9,
        align: 'right',
      },
    );
    rules.push({ x1: left, y1: y - 5, x2: right, y2: y - 5, width: 0.3, grey: 0.6 });
    y -= 17;
  }

  y -= 8;
  const totals: [string, string, boolean][] = [
    ['Subtotal (10% items)', yen(order.subtotal), false],
    ['Consumption tax 10%', yen(order.tax), false],
    ['Total due', yen(order.total), true],
  ];
  for (const [label, value, bold] of totals) {
    texts.push(
      { x: 360, y, text: label, size: bold ? 11 : 9, bold },
      { x: right, y, text: value, size: bold ? 11 : 9, bold, align: 'right' },
    );
    y -= bold ? 18 : 14;
  }
  rules.push({ x1: 355, y1: y + 30, x2: right, y2: y + 30, width: 0.8 });

  y -= 24;
  texts.push({ x: left, y, text: 'Please transfer the total by the due date to:', size: 9 });
  texts.push({ x: left, y: y - 13, text: COMPANY.bank, size: 9 });
  texts.push({ x: left, y: 50, text: 'Thank you for your business.', size: 9 });
  texts.push({ x: right, y: 50, text: `${invoice.number} - page 1 of 1`, size: 8, align: 'right' });

  return buildPdf(
    { texts, rules, boxes },
    {
      title: `Invoice ${invoice.number}`,
      author: COMPANY.name,
      subject: `Order ${order.id} for ${customer.company}`,
      creator: 'Kanda OMS billing 4.2',
      producer: 'kanda-pdfgen 1.3',
      created: invoice.issuedAt,
    },
  );
}
