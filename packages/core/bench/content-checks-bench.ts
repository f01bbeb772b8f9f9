import { isUtf8 } from 'node:buffer';
import { isIdentityEncoding, isJsonContentType } from '../src';

/**
 * What the checks a delivery passes before its body is parsed cost per message: the content type,
 * the content encoding and UTF-8 validity (the size check is one comparison). Measured against an
 * empty loop, interleaved, keeping the best of 40 runs so a busy machine's noise drops out.
 * Run with `npm run build && node packages/core/dist/bench/content-checks-bench.js`.
 */

const body = Buffer.from(
  JSON.stringify({ id: 42, customer: 'customer-0042', lines: [1, 2, 3].map((n) => ({ id: n, sku: `SKU-${1000 + n}`, quantity: n, price: 9.99 + n })) }),
  'utf8',
);
const properties: { contentType?: string; contentEncoding?: string } = { contentType: 'application/json' };
let sink = 0;

const variants: Record<string, () => void> = {
  empty: () => {
    sink++;
  },
  checks: () => {
    if (isJsonContentType(properties.contentType) && isIdentityEncoding(properties.contentEncoding) && isUtf8(body)) sink++;
  },
};

const best: Record<string, number> = { empty: Infinity, checks: Infinity };
const perRun = 500_000;
for (let run = 0; run < 40; run++) {
  for (const [name, fn] of Object.entries(variants)) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < perRun; i++) fn();
    best[name] = Math.min(best[name]!, Number(process.hrtime.bigint() - started) / perRun);
  }
}
const ns = best.checks! - best.empty!;
console.log(`content type, encoding and UTF-8 checks on a ${body.length}-byte body: ${ns.toFixed(0)} ns per delivery (sink ${sink > 0})`);
console.log(JSON.stringify({ bodyBytes: body.length, checksNs: Math.round(ns) }));
