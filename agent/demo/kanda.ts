/**
 * The business behind the demo estate: Kanda Office Supply Co., Ltd., a small office-supply
 * retailer with a shop in Kanda and a distribution centre in Ichikawa. This module models its
 * catalogue, customers, daily orders, invoices and stock as plain data; the files in a backup are
 * renderings of it (see estate.ts).
 *
 * Day numbering: orders of "day k" are placed on the UTC date `start + (k - 1) days`, and the
 * backup of day k (taken at `start + k days + 02:00Z`) is the first to contain them. Days
 * -HISTORY_DAYS..-1 are the order history that predates the first demo backup. Every day is
 * generated from its own seeded stream, so a day's orders never change once generated.
 */
import { Random } from './prng.js';

export const DAY_MS = 86_400_000;
export const HISTORY_DAYS = 30;
export const COMPANY = {
  name: 'Kanda Office Supply Co., Ltd.',
  address: ['2-5-8 Kanda-Sudacho, Chiyoda-ku', 'Tokyo 101-0041, Japan'],
  phone: '+81 3-5209-0000',
  email: 'billing@kanda-office.example',
  registration: 'T4010001099999',
  bank: 'Kanda Shinkin Bank, Sudacho Branch (102), Ordinary 1234567, Kanda Office Supply Co., Ltd.',
} as const;

export type Warehouse = 'KANDA-STORE' | 'ICHIKAWA-DC';
export const WAREHOUSES: readonly Warehouse[] = ['ICHIKAWA-DC', 'KANDA-STORE'];

export interface Product {
  id: number;
  sku: string;
  name: string;
  category: string;
  brand: string;
  unit: string;
  price: number;
  cost: number;
  supplier: string;
  popularity: number;
  /** Typical quantity per order line. */
  maxQty: number;
}

export interface Customer {
  id: number;
  company: string;
  contact: string;
  email: string;
  phone: string;
  postalCode: string;
  address: string;
  billing: 'invoice' | 'card';
  createdAt: Date;
  /** Relative ordering frequency. */
  weight: number;
}

export interface OrderLine {
  lineNo: number;
  productId: number;
  quantity: number;
  unitPrice: number;
}

export type Channel = 'web' | 'phone' | 'fax' | 'store';
export type OrderStatus = 'new' | 'picking' | 'shipped' | 'delivered' | 'cancelled';

export interface Order {
  id: number;
  day: number;
  customerId: number;
  orderedAt: Date;
  channel: Channel;
  lines: OrderLine[];
  subtotal: number;
  tax: number;
  total: number;
  cancelled: boolean;
  /** Fixed per order; decides how far fulfilment has progressed at a given snapshot. */
  progress: number;
  invoiceNo: string | null;
}

export interface Invoice {
  number: string;
  orderId: number;
  day: number;
  issuedAt: Date;
  dueDate: Date;
}

export interface DayData {
  day: number;
  /** UTC midnight of the date the orders were placed. */
  date: Date;
  newCustomers: Customer[];
  orders: Order[];
  invoices: Invoice[];
}

interface Template {
  category: string;
  code: string;
  names: readonly string[];
  variants: readonly string[];
  price: readonly [number, number];
  unit: string;
  maxQty: number;
  popularity: number;
}

const BRANDS = ['Kanda Basics', 'Ochanomizu', 'Jimbocho Works', 'Suda', 'Awaji', 'Nishiki'];
const SUPPLIERS = [
  'Tokyo Paper Trading',
  'Keihin Stationery Wholesale',
  'Chiba Logistics Supply',
  'Osaka Office Goods',
  'Saitama Print Media',
];

const TEMPLATES: readonly Template[] = [
  {
    category: 'Paper',
    code: 'PA',
    names: [
      'Copy Paper 500 sheets',
      'Recycled Copy Paper 500 sheets',
      'Premium Laser Paper 250 sheets',
      'Colour Paper 100 sheets',
    ],
    variants: ['A4', 'A3', 'B5', 'B4'],
    price: [380, 1600],
    unit: 'ream',
    maxQty: 10,
    popularity: 5,
  },
  {
    category: 'Writing',
    code: 'WR',
    names: [
      'Gel Ink Pen 0.5mm',
      'Ballpoint Pen 0.7mm',
      'Fineliner 0.4mm',
      'Highlighter',
      'Permanent Marker',
      'Mechanical Pencil 0.5mm',
    ],
    variants: ['Black', 'Blue', 'Red', 'Green'],
    price: [90, 420],
    unit: 'piece',
    maxQty: 40,
    popularity: 4,
  },
  {
    category: 'Notebooks',
    code: 'NB',
    names: [
      'Campus-style Notebook 30 sheets',
      'Spiral Notebook 80 sheets',
      'Loose-leaf Paper 100 sheets',
      'Memo Pad 100 sheets',
    ],
    variants: ['A5 ruled', 'B5 ruled', 'A4 grid', 'A6 plain'],
    price: [120, 680],
    unit: 'piece',
    maxQty: 30,
    popularity: 3,
  },
  {
    category: 'Filing',
    code: 'FI',
    names: [
      'Clear File 10 pack',
      'Lever Arch File',
      'Ring Binder 2-hole',
      'Document Box',
      'Index Dividers 12 tabs',
    ],
    variants: ['A4 clear', 'A4 blue', 'A4 black', 'B5 white'],
    price: [180, 1450],
    unit: 'piece',
    maxQty: 20,
    popularity: 3,
  },
  {
    category: 'Desk',
    code: 'DK',
    names: [
      'Stapler No.10',
      'Staples No.10 1000 pcs',
      'Scissors 175mm',
      'Tape Dispenser',
      'Desk Organiser',
      'Paper Clips 100 pcs',
      'Correction Tape 5mm',
    ],
    variants: ['Standard', 'Heavy duty', 'Compact'],
    price: [110, 2400],
    unit: 'piece',
    maxQty: 15,
    popularity: 3,
  },
  {
    category: 'Ink & Toner',
    code: 'IT',
    names: ['Toner Cartridge', 'Ink Cartridge', 'Drum Unit'],
    variants: ['Black', 'Cyan', 'Magenta', 'Yellow', 'Black XL'],
    price: [2400, 18800],
    unit: 'piece',
    maxQty: 4,
    popularity: 2,
  },
  {
    category: 'Packaging',
    code: 'PK',
    names: [
      'Cardboard Box 60 size 10 pcs',
      'Packing Tape 48mm',
      'Bubble Wrap Roll 600mm',
      'Kraft Envelope 100 pcs',
    ],
    variants: ['Standard', 'Heavy duty'],
    price: [260, 3200],
    unit: 'pack',
    maxQty: 12,
    popularity: 2,
  },
  {
    category: 'Electronics',
    code: 'EL',
    names: [
      'Alkaline Batteries AA 20 pack',
      'Alkaline Batteries AAA 20 pack',
      'USB Flash Drive',
      'Desktop Calculator 12-digit',
      'Label Printer Tape 12mm',
      'Extension Cord 3m',
    ],
    variants: ['Standard', 'Value pack', 'Pro'],
    price: [480, 5800],
    unit: 'piece',
    maxQty: 8,
    popularity: 2,
  },
  {
    category: 'Cleaning',
    code: 'CL',
    names: [
      'Alcohol Wipes 100 sheets',
      'Garbage Bags 45L 50 pcs',
      'Microfibre Cloth 10 pcs',
      'Floor Cleaner 2L',
    ],
    variants: ['Regular', 'Refill', 'Bulk'],
    price: [280, 1900],
    unit: 'pack',
    maxQty: 12,
    popularity: 2,
  },
  {
    category: 'Breakroom',
    code: 'BR',
    names: [
      'Green Tea Bags 100',
      'Drip Coffee 50 pcs',
      'Paper Cups 205ml 100 pcs',
      'Hand Soap Refill 2L',
      'Tissue Box 5 pack',
    ],
    variants: ['Regular', 'Bulk'],
    price: [320, 2800],
    unit: 'pack',
    maxQty: 10,
    popularity: 2,
  },
];

const FAMILY = [
  'Sato',
  'Suzuki',
  'Takahashi',
  'Tanaka',
  'Watanabe',
  'Ito',
  'Yamamoto',
  'Nakamura',
  'Kobayashi',
  'Kato',
  'Yoshida',
  'Yamada',
  'Sasaki',
  'Yamaguchi',
  'Matsumoto',
  'Inoue',
  'Kimura',
  'Hayashi',
  'Shimizu',
  'Mori',
  'Ikeda',
  'Hashimoto',
  'Ishikawa',
  'Ogawa',
];
const GIVEN = [
  'Haruto',
  'Yui',
  'Sota',
  'Aoi',
  'Ren',
  'Hina',
  'Yuto',
  'Mei',
  'Kenji',
  'Akiko',
  'Takeshi',
  'Naoko',
  'Hiroshi',
  'Emi',
  'Daisuke',
  'Yoko',
];
const KINDS: readonly (readonly [string, 'invoice' | 'card'])[] = [
  ['Accounting Office', 'invoice'],
  ['Law Office', 'invoice'],
  ['Dental Clinic', 'card'],
  ['Architects', 'invoice'],
  ['Printing Co., Ltd.', 'invoice'],
  ['Real Estate', 'card'],
  ['Cram School', 'card'],
  ['Design Studio', 'card'],
  ['Tax Accountants', 'invoice'],
  ['Trading Co., Ltd.', 'invoice'],
  ['Kindergarten', 'invoice'],
  ['Bookshop', 'card'],
  ['Clinic', 'card'],
  ['Logistics K.K.', 'invoice'],
  ['Publishing', 'invoice'],
  ['Cafe', 'card'],
];
const AREAS: readonly (readonly [string, string])[] = [
  ['101', 'Kanda-Jimbocho, Chiyoda-ku'],
  ['101', 'Kanda-Ogawamachi, Chiyoda-ku'],
  ['102', 'Kojimachi, Chiyoda-ku'],
  ['103', 'Nihonbashi, Chuo-ku'],
  ['104', 'Ginza, Chuo-ku'],
  ['105', 'Shiba, Minato-ku'],
  ['110', 'Ueno, Taito-ku'],
  ['111', 'Asakusa, Taito-ku'],
  ['112', 'Koishikawa, Bunkyo-ku'],
  ['113', 'Hongo, Bunkyo-ku'],
  ['160', 'Shinjuku, Shinjuku-ku'],
  ['130', 'Ryogoku, Sumida-ku'],
];

/** The product catalogue (fixed for the whole demo). */
export function buildCatalog(seed: number): Product[] {
  const random = new Random(seed, 'catalog');
  const products: Product[] = [];
  for (const template of TEMPLATES) {
    let serial = 1000 + random.int(0, 40);
    const [low, high] = template.price;
    for (const base of template.names) {
      for (const variant of template.variants) {
        // Each item is stocked in one or two brands.
        for (const brand of random.shuffle(BRANDS).slice(0, random.int(1, 2))) {
          const price = Math.round((low + random.float() ** 1.6 * (high - low)) / 10) * 10;
          serial += random.int(1, 9);
          products.push({
            id: products.length + 1,
            sku: `KOS-${template.code}-${serial}`,
            name: `${brand} ${base}, ${variant}`,
            category: template.category,
            brand,
            unit: template.unit,
            price,
            cost: Math.round((price * (0.55 + random.float() * 0.17)) / 10) * 10,
            supplier: random.pick(SUPPLIERS),
            popularity: template.popularity * (0.3 + random.float() ** 2 * 2.5),
            maxQty: template.maxQty,
          });
        }
      }
    }
  }
  return products;
}

function makeCustomer(random: Random, id: number, createdAt: Date): Customer {
  const family = random.pick(FAMILY);
  const [kind, billing] = random.pick(KINDS);
  const [postal, area] = random.pick(AREAS);
  const slug = `${family}-${kind.split(/[ ,.]/)[0]}`.toLowerCase();
  return {
    id,
    company: `${family} ${kind}`,
    contact: `${random.pick(GIVEN)} ${random.pick(FAMILY)}`,
    email: `office@${slug}.example`,
    phone: `03-${random.int(3200, 6999)}-${String(random.int(0, 9999)).padStart(4, '0')}`,
    postalCode: `${postal}-${String(random.int(1, 99)).padStart(4, '0')}`,
    address: `${random.int(1, 4)}-${random.int(1, 28)}-${random.int(1, 15)} ${area}, Tokyo`,
    billing,
    createdAt,
    weight: 0.2 + random.float() ** 3 * 6,
  };
}

/** Customers that existed before the order history began. */
export function buildBaseCustomers(seed: number, start: Date): Customer[] {
  const random = new Random(seed, 'customers');
  const first = start.getTime() - (HISTORY_DAYS + 2 * 365) * DAY_MS;
  return Array.from({ length: 140 }, (_, i) =>
    makeCustomer(
      random,
      i + 1,
      new Date(first + Math.floor(random.float() * 700) * DAY_MS + random.int(0, 86_399) * 1000),
    ),
  )
    .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
    .map((customer, i) => ({ ...customer, id: i + 1 }));
}

/** Consumption tax (10 %), rounded down per order as most Japanese retailers do. */
export const taxOf = (subtotal: number) => Math.floor(subtotal * 0.1);

/** A time of day (seconds) for an order: mostly Tokyo office hours (00:00–09:00Z), web orders at any time. */
function orderSecond(random: Random, channel: Channel): number {
  if (channel === 'web' && random.chance(0.4)) return random.int(0, 86_399);
  return random.int(0, 9 * 3600 - 1);
}

/** How many orders are placed on a given weekday (0 = Sunday). */
function orderCount(random: Random, weekday: number): number {
  if (weekday === 0) return random.int(8, 14);
  if (weekday === 6) return random.int(20, 32);
  return random.int(70, 100);
}

export interface DayContext {
  seed: number;
  start: Date;
  products: readonly Product[];
  /** All customers known before this day (base + earlier days' new customers). */
  customers: readonly Customer[];
  nextOrderId: number;
  nextInvoiceNo: number;
}

/** Generates one day's business (orders, new customers, invoices). Pure in (seed, start, day, context). */
export function generateDay(context: DayContext, day: number): DayData {
  const random = new Random(context.seed, 'day', day);
  const date = new Date(context.start.getTime() + (day - 1) * DAY_MS);
  const newCustomers: Customer[] = [];
  const newCount =
    date.getUTCDay() === 0
      ? 0
      : random.weighted([
          [0, 5],
          [1, 3],
          [2, 1],
        ] as const);
  for (let i = 0; i < newCount; i++) {
    newCustomers.push(
      makeCustomer(
        random,
        context.customers.length + i + 1,
        new Date(date.getTime() + random.int(0, 9 * 3600 - 1) * 1000),
      ),
    );
  }
  const customers = [...context.customers, ...newCustomers];
  const customerWeights = customers.map((customer) => [customer, customer.weight] as const);
  const productWeights = context.products.map((product) => [product, product.popularity] as const);

  const drafts: Omit<Order, 'id' | 'invoiceNo'>[] = [];
  const count = orderCount(random, date.getUTCDay());
  for (let i = 0; i < count; i++) {
    const channel: Channel =
      date.getUTCDay() === 0
        ? 'web'
        : random.weighted([
            ['web', 55],
            ['phone', 18],
            ['fax', 15],
            ['store', 12],
          ] as const);
    const customer = random.weighted(customerWeights);
    let orderedAt = new Date(date.getTime() + orderSecond(random, channel) * 1000);
    if (orderedAt < customer.createdAt)
      orderedAt = new Date(customer.createdAt.getTime() + random.int(60, 3600) * 1000);
    if (orderedAt.getTime() >= date.getTime() + DAY_MS) orderedAt = new Date(date.getTime() + DAY_MS - 1000);
    const lineCount = random.weighted([
      [1, 30],
      [2, 28],
      [3, 20],
      [4, 12],
      [5, 6],
      [6, 4],
    ] as const);
    const lines: OrderLine[] = [];
    const used = new Set<number>();
    while (lines.length < lineCount) {
      const product = random.weighted(productWeights);
      if (used.has(product.id)) continue;
      used.add(product.id);
      const quantity = Math.max(1, Math.round(random.float() ** 2.5 * product.maxQty));
      lines.push({ lineNo: lines.length + 1, productId: product.id, quantity, unitPrice: product.price });
    }
    const subtotal = lines.reduce((sum, line) => sum + line.quantity * line.unitPrice, 0);
    drafts.push({
      day,
      customerId: customer.id,
      orderedAt,
      channel,
      lines,
      subtotal,
      tax: taxOf(subtotal),
      total: subtotal + taxOf(subtotal),
      cancelled: random.chance(0.02),
      progress: random.float(),
    });
  }
  drafts.sort((a, b) => a.orderedAt.getTime() - b.orderedAt.getTime());

  // Invoices: the nightly billing run (00:40Z next morning) invoices a handful of the day's
  // orders from customers on invoice terms, largest first.
  const billable = drafts
    .map((draft, index) => ({ draft, index }))
    .filter(
      ({ draft }) =>
        !draft.cancelled &&
        customers[draft.customerId - 1]?.billing === 'invoice' &&
        draft.channel !== 'store',
    )
    .sort((a, b) => b.draft.total - a.draft.total || a.index - b.index)
    .slice(0, day < 0 ? 0 : random.int(3, 7))
    .sort((a, b) => a.index - b.index);
  const invoiceOf = new Map<number, string>();
  billable.forEach(({ index }, i) =>
    invoiceOf.set(index, `INV-${String(context.nextInvoiceNo + i).padStart(5, '0')}`),
  );

  const orders: Order[] = drafts.map((draft, index) => ({
    ...draft,
    id: context.nextOrderId + index,
    invoiceNo: invoiceOf.get(index) ?? null,
  }));
  const issuedAt = new Date(date.getTime() + DAY_MS + 40 * 60_000);
  const dueDate = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 2, 0)); // end of next month
  const invoices: Invoice[] = orders
    .filter((order) => order.invoiceNo)
    .map((order, i) => ({
      number: order.invoiceNo as string,
      orderId: order.id,
      day,
      issuedAt: new Date(issuedAt.getTime() + i * 3000),
      dueDate,
    }));
  return { day, date, newCustomers, orders, invoices };
}

/** Fulfilment state of an order as seen by the backup of `snapshotDay`. */
export function orderStatus(order: Order, snapshotDay: number): OrderStatus {
  if (order.cancelled) return 'cancelled';
  const age = snapshotDay - order.day;
  if (age <= 0) return order.progress < 0.3 ? 'new' : order.progress < 0.7 ? 'picking' : 'shipped';
  if (age === 1) return order.progress < 0.85 ? 'shipped' : 'delivered';
  return 'delivered';
}

/** Which warehouse an order ships from. */
export const warehouseOf = (order: Order): Warehouse =>
  order.channel === 'store' ? 'KANDA-STORE' : 'ICHIKAWA-DC';

export interface StockRow {
  productId: number;
  warehouse: Warehouse;
  onHand: number;
  reserved: number;
  reorderPoint: number;
  reorderQty: number;
  updatedAt: Date;
}

/**
 * Stock per product and warehouse as of the backup of `snapshotDay`: an initial count at the start
 * of the history, minus what shipped, plus supplier deliveries whenever a level fell under its
 * reorder point. Orders still new or being picked are reserved, not yet deducted.
 */
export function computeStock(
  seed: number,
  start: Date,
  products: readonly Product[],
  days: readonly DayData[],
  snapshotDay: number,
): StockRow[] {
  const random = new Random(seed, 'stock');
  const rows = new Map<string, StockRow>();
  const key = (productId: number, warehouse: Warehouse) => `${productId}/${warehouse}`;
  const historyStart = new Date(start.getTime() - (HISTORY_DAYS + 1) * DAY_MS);
  for (const product of products) {
    for (const warehouse of WAREHOUSES) {
      const scale = warehouse === 'ICHIKAWA-DC' ? 8 : 1;
      const reorderPoint = Math.max(2, Math.round(product.maxQty * product.popularity * scale * 0.6));
      rows.set(key(product.id, warehouse), {
        productId: product.id,
        warehouse,
        onHand: reorderPoint * 2 + random.int(0, reorderPoint * 2),
        reserved: 0,
        reorderPoint,
        reorderQty: reorderPoint * 3,
        updatedAt: historyStart,
      });
    }
  }
  for (const data of days) {
    if (data.day > snapshotDay) break;
    // Supplier deliveries arrive at the start of the day for anything under its reorder point.
    for (const row of rows.values()) {
      if (row.onHand < row.reorderPoint) {
        row.onHand += row.reorderQty;
        row.updatedAt = new Date(data.date.getTime() + 30 * 60_000);
      }
    }
    for (const order of data.orders) {
      const status = orderStatus(order, snapshotDay);
      if (status === 'cancelled') continue;
      for (const line of order.lines) {
        const row = rows.get(key(line.productId, warehouseOf(order)));
        if (!row) continue;
        if (status === 'new' || status === 'picking') row.reserved += line.quantity;
        else row.onHand = Math.max(0, row.onHand - line.quantity);
        row.updatedAt = order.orderedAt;
      }
    }
  }
  return [...rows.values()];
}
