/**
 * Renders the order database as PostgreSQL 15 `pg_dump` plain-format output (same section
 * comments, SET preamble, object order, COPY blocks and post-data constraints as pg_dump writes),
 * so a restore drill can load it with `psql -v ON_ERROR_STOP=1 -f orders.sql`.
 */
import type { Customer, Order, Product } from './kanda.js';
import { orderStatus } from './kanda.js';
import { Random } from './prng.js';

const OWNER = 'kanda';
const VERSION = '15.18 (Debian 15.18-0+deb12u1)';

/** COPY text-format escaping. */
function copyValue(value: string | number | boolean | null): string {
  if (value === null) return '\\N';
  if (typeof value === 'boolean') return value ? 't' : 'f';
  if (typeof value === 'number') return String(value);
  return value.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

/** timestamptz as pg_dump prints it with TimeZone = UTC. */
export function pgTimestamp(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace('T', ' ')}+00`;
}

const section = (name: string, type: string) =>
  `--\n-- Name: ${name}; Type: ${type}; Schema: public; Owner: ${OWNER}\n--\n\n`;
const dataSection = (table: string) =>
  `--\n-- Data for Name: ${table}; Type: TABLE DATA; Schema: public; Owner: ${OWNER}\n--\n\n`;

function copyBlock(
  table: string,
  columns: readonly string[],
  rows: Iterable<readonly (string | number | boolean | null)[]>,
): string {
  const out = [`COPY public.${table} (${columns.join(', ')}) FROM stdin;`];
  for (const row of rows) out.push(row.map(copyValue).join('\t'));
  out.push('\\.', '', '', '');
  return dataSection(table) + out.join('\n');
}

function serialSequence(table: string, column: string): string {
  const seq = `${table}_${column}_seq`;
  return (
    section(seq, 'SEQUENCE') +
    `CREATE SEQUENCE public.${seq}\n    AS integer\n    START WITH 1\n    INCREMENT BY 1\n    NO MINVALUE\n    NO MAXVALUE\n    CACHE 1;\n\n\n` +
    `ALTER TABLE public.${seq} OWNER TO ${OWNER};\n\n` +
    section(seq, 'SEQUENCE OWNED BY') +
    `ALTER SEQUENCE public.${seq} OWNED BY public.${table}.${column};\n\n\n`
  );
}

function table(name: string, body: string): string {
  return (
    section(name, 'TABLE') +
    `CREATE TABLE public.${name} (\n${body}\n);\n\n\nALTER TABLE public.${name} OWNER TO ${OWNER};\n\n`
  );
}

export interface DumpInput {
  seed: number;
  snapshotDay: number;
  customers: readonly Customer[];
  products: readonly Product[];
  orders: readonly Order[];
}

/** The whole dump as text. Orders must be in id order. */
export function renderPgDump({ seed, snapshotDay, customers, products, orders }: DumpInput): string {
  // pg_dump ≥ 15.14 fences the script with a random \restrict key (CVE-2025-8714).
  const restrictKey = new Random(seed, 'pg-restrict', snapshotDay).string(
    63,
    'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789',
  );
  const parts: string[] = [];
  parts.push(
    `--\n-- PostgreSQL database dump\n--\n\n\\restrict ${restrictKey}\n\n` +
      `-- Dumped from database version ${VERSION}\n-- Dumped by pg_dump version ${VERSION}\n\n` +
      'SET statement_timeout = 0;\nSET lock_timeout = 0;\nSET idle_in_transaction_session_timeout = 0;\n' +
      "SET client_encoding = 'UTF8';\nSET standard_conforming_strings = on;\n" +
      "SELECT pg_catalog.set_config('search_path', '', false);\nSET check_function_bodies = false;\n" +
      'SET xmloption = content;\nSET client_min_messages = warning;\nSET row_security = off;\n\n' +
      "SET default_tablespace = '';\n\nSET default_table_access_method = heap;\n\n",
  );

  parts.push(
    table(
      'customers',
      [
        '    customer_id integer NOT NULL,',
        '    company_name text NOT NULL,',
        '    contact_name text,',
        '    email text,',
        '    phone text,',
        '    postal_code text,',
        '    address text NOT NULL,',
        "    billing text DEFAULT 'card'::text NOT NULL,",
        '    created_at timestamp with time zone DEFAULT now() NOT NULL,',
        "    CONSTRAINT customers_billing_check CHECK ((billing = ANY (ARRAY['invoice'::text, 'card'::text])))",
      ].join('\n'),
    ),
    serialSequence('customers', 'customer_id'),
    table(
      'order_lines',
      [
        '    order_id bigint NOT NULL,',
        '    line_no smallint NOT NULL,',
        '    product_id integer NOT NULL,',
        '    quantity integer NOT NULL,',
        '    unit_price_jpy integer NOT NULL,',
        '    CONSTRAINT order_lines_quantity_check CHECK ((quantity > 0))',
      ].join('\n'),
    ),
    table(
      'orders',
      [
        '    order_id bigint NOT NULL,',
        '    customer_id integer NOT NULL,',
        '    ordered_at timestamp with time zone NOT NULL,',
        '    channel text NOT NULL,',
        "    status text DEFAULT 'new'::text NOT NULL,",
        '    subtotal_jpy integer NOT NULL,',
        '    tax_jpy integer NOT NULL,',
        '    total_jpy integer NOT NULL,',
        '    invoice_no text,',
        "    CONSTRAINT orders_channel_check CHECK ((channel = ANY (ARRAY['web'::text, 'phone'::text, 'fax'::text, 'store'::text]))),",
        "    CONSTRAINT orders_status_check CHECK ((status = ANY (ARRAY['new'::text, 'picking'::text, 'shipped'::text, 'delivered'::text, 'cancelled'::text])))",
      ].join('\n'),
    ),
    section('orders_order_id_seq', 'SEQUENCE') +
      'ALTER TABLE public.orders ALTER COLUMN order_id ADD GENERATED BY DEFAULT AS IDENTITY (\n' +
      '    SEQUENCE NAME public.orders_order_id_seq\n    START WITH 100001\n    INCREMENT BY 1\n    NO MINVALUE\n    NO MAXVALUE\n    CACHE 1\n);\n\n\n',
    table(
      'products',
      [
        '    product_id integer NOT NULL,',
        '    sku text NOT NULL,',
        '    name text NOT NULL,',
        '    category text NOT NULL,',
        '    unit_price_jpy integer NOT NULL,',
        '    tax_rate numeric(4,3) DEFAULT 0.100 NOT NULL,',
        '    active boolean DEFAULT true NOT NULL,',
        '    CONSTRAINT products_unit_price_jpy_check CHECK ((unit_price_jpy >= 0))',
      ].join('\n'),
    ),
    serialSequence('products', 'product_id'),
    section('customers customer_id', 'DEFAULT') +
      "ALTER TABLE ONLY public.customers ALTER COLUMN customer_id SET DEFAULT nextval('public.customers_customer_id_seq'::regclass);\n\n\n",
    section('products product_id', 'DEFAULT') +
      "ALTER TABLE ONLY public.products ALTER COLUMN product_id SET DEFAULT nextval('public.products_product_id_seq'::regclass);\n\n\n",
  );

  parts.push(
    copyBlock(
      'customers',
      [
        'customer_id',
        'company_name',
        'contact_name',
        'email',
        'phone',
        'postal_code',
        'address',
        'billing',
        'created_at',
      ],
      customers.map((c) => [
        c.id,
        c.company,
        c.contact,
        c.email,
        c.phone,
        c.postalCode,
        c.address,
        c.billing,
        pgTimestamp(c.createdAt),
      ]),
    ),
    copyBlock(
      'order_lines',
      ['order_id', 'line_no', 'product_id', 'quantity', 'unit_price_jpy'],
      (function* () {
        for (const order of orders)
          for (const line of order.lines)
            yield [order.id, line.lineNo, line.productId, line.quantity, line.unitPrice];
      })(),
    ),
    copyBlock(
      'orders',
      [
        'order_id',
        'customer_id',
        'ordered_at',
        'channel',
        'status',
        'subtotal_jpy',
        'tax_jpy',
        'total_jpy',
        'invoice_no',
      ],
      orders.map((o) => [
        o.id,
        o.customerId,
        pgTimestamp(o.orderedAt),
        o.channel,
        orderStatus(o, snapshotDay),
        o.subtotal,
        o.tax,
        o.total,
        o.invoiceNo,
      ]),
    ),
    copyBlock(
      'products',
      ['product_id', 'sku', 'name', 'category', 'unit_price_jpy', 'tax_rate', 'active'],
      products.map((p) => [p.id, p.sku, p.name, p.category, p.price, '0.100', true]),
    ),
  );

  const lastOrder = orders[orders.length - 1]?.id ?? 100001;
  parts.push(
    section('customers_customer_id_seq', 'SEQUENCE SET') +
      `SELECT pg_catalog.setval('public.customers_customer_id_seq', ${customers.length}, true);\n\n\n`,
    section('orders_order_id_seq', 'SEQUENCE SET') +
      `SELECT pg_catalog.setval('public.orders_order_id_seq', ${lastOrder}, true);\n\n\n`,
    section('products_product_id_seq', 'SEQUENCE SET') +
      `SELECT pg_catalog.setval('public.products_product_id_seq', ${products.length}, true);\n\n\n`,
  );

  const constraint = (tableName: string, name: string, definition: string, type = 'CONSTRAINT') =>
    section(`${tableName} ${name}`, type) +
    `ALTER TABLE ONLY public.${tableName}\n    ADD CONSTRAINT ${name} ${definition};\n\n\n`;
  const index = (name: string, definition: string) =>
    section(name, 'INDEX') + `CREATE INDEX ${name} ON public.${definition};\n\n\n`;
  parts.push(
    constraint('customers', 'customers_pkey', 'PRIMARY KEY (customer_id)'),
    constraint('order_lines', 'order_lines_pkey', 'PRIMARY KEY (order_id, line_no)'),
    constraint('orders', 'orders_invoice_no_key', 'UNIQUE (invoice_no)'),
    constraint('orders', 'orders_pkey', 'PRIMARY KEY (order_id)'),
    constraint('products', 'products_pkey', 'PRIMARY KEY (product_id)'),
    constraint('products', 'products_sku_key', 'UNIQUE (sku)'),
    index('order_lines_product_id_idx', 'order_lines USING btree (product_id)'),
    index('orders_customer_id_idx', 'orders USING btree (customer_id)'),
    index('orders_ordered_at_idx', 'orders USING btree (ordered_at)'),
    constraint(
      'order_lines',
      'order_lines_order_id_fkey',
      'FOREIGN KEY (order_id) REFERENCES public.orders(order_id) ON DELETE CASCADE',
      'FK CONSTRAINT',
    ),
    constraint(
      'order_lines',
      'order_lines_product_id_fkey',
      'FOREIGN KEY (product_id) REFERENCES public.products(product_id)',
      'FK CONSTRAINT',
    ),
    constraint(
      'orders',
      'orders_customer_id_fkey',
      'FOREIGN KEY (customer_id) REFERENCES public.customers(customer_id)',
      'FK CONSTRAINT',
    ),
  );
  parts.push(`--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict ${restrictKey}\n\n`);
  return parts.join('');
}
