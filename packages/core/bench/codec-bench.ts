import { Type } from 'class-transformer';
import {
  ArrayMinSize,
  IsEmail,
  IsEnum,
  IsInt,
  IsISO8601,
  IsOptional,
  IsPositive,
  IsString,
  Length,
  ValidateNested,
} from 'class-validator';
import { ClassCodec, CompiledCodec, Event, EventType, Exchange, type Codec } from '../src';

/**
 * Per-message cost of the codec, naive (ClassCodec: class-transformer + class-validator as their
 * docs show) against CompiledCodec. Inbound is Buffer → validated instance (decode), outbound is
 * instance → Buffer (encode, which validates first). Run with `npm run bench:codec`.
 */

const BENCH_EXCHANGE = new Exchange('codec-bench');

class OrderLine {
  @IsInt() id!: number;
  @IsInt() @IsPositive() quantity!: number;
  @IsPositive() price!: number;
}

class Order {
  @Event(BENCH_EXCHANGE, 'codecbench.v1.submit') static readonly submit: EventType<Order>;

  @IsInt() id!: number;
  @ValidateNested({ each: true }) @Type(() => OrderLine) lines: OrderLine[] = [];
}

enum Channel {
  Web = 'web',
  Shop = 'shop',
}

class RichLine {
  @IsString() @Length(1, 32) sku!: string;
  @IsInt() @IsPositive() quantity!: number;
  @IsPositive() price!: number;
}

class RichOrder {
  @Event(BENCH_EXCHANGE, 'codecbench.v1.rich') static readonly submit: EventType<RichOrder>;

  @IsInt() id!: number;
  @IsEmail() customer!: string;
  @IsISO8601() placedAt!: string;
  @IsEnum(Channel) channel: Channel = Channel.Web;
  @IsOptional() @IsString() note?: string;
  @ArrayMinSize(1) @ValidateNested({ each: true }) @Type(() => RichLine) lines: RichLine[] = [];
}

const order = {
  id: 1042,
  lines: [
    { id: 1, quantity: 2, price: 19.99 },
    { id: 2, quantity: 1, price: 5.5 },
    { id: 3, quantity: 12, price: 0.75 },
  ],
};
const rich = {
  id: 1042,
  customer: 'ada@example.com',
  placedAt: '2026-11-22T02:00:00Z',
  channel: 'shop',
  lines: [
    { sku: 'TEA-001', quantity: 2, price: 19.99 },
    { sku: 'MUG-017', quantity: 1, price: 5.5 },
    { sku: 'SPOON-3', quantity: 12, price: 0.75 },
  ],
};

interface Figure {
  readonly median: number;
  readonly best: number;
}

/** Median and best of `rounds` timings of `iterations` calls, in µs per call (best is steadier on a shared machine). */
function measure(fn: () => unknown, iterations: number, rounds = 7): Figure {
  for (let i = 0; i < iterations; i++) fn();
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) fn();
    samples.push(Number(process.hrtime.bigint() - start) / 1000 / iterations);
  }
  samples.sort((a, b) => a - b);
  return { median: samples[Math.floor(samples.length / 2)]!, best: samples[0]! };
}

function run<T extends object>(label: string, event: EventType<T>, plain: object): void {
  const body = Buffer.from(JSON.stringify(plain), 'utf8');
  const naive: Codec = new ClassCodec();
  const compiled = new CompiledCodec();
  const instance = naive.decode(event, body) as T;
  const n = 20_000;
  const rows: Array<[string, Figure]> = [
    ['JSON.parse (floor, inbound)', measure(() => JSON.parse(body.toString('utf8')), n)],
    ['naive inbound   (ClassCodec.decode)', measure(() => naive.decode(event, body), n)],
    ['compiled inbound (CompiledCodec.decode)', measure(() => compiled.decode(event, body), n)],
    ['JSON.stringify (floor, outbound)', measure(() => Buffer.from(JSON.stringify(plain), 'utf8'), n)],
    ['naive outbound  (ClassCodec.encode)', measure(() => naive.encode(event, instance), n)],
    ['compiled outbound (CompiledCodec.encode)', measure(() => compiled.encode(event, instance), n)],
  ];
  console.log(`\n${label}: ${body.length} bytes${' '.repeat(Math.max(1, 44 - label.length - String(body.length).length))}median     best`);
  for (const [name, f] of rows) console.log(`  ${name.padEnd(42)} ${f.median.toFixed(2).padStart(7)} ${f.best.toFixed(2).padStart(8)}  µs/msg`);
  const speedup = (naiveRow: number, compiledRow: number): string => (rows[naiveRow]![1].median / rows[compiledRow]![1].median).toFixed(1);
  console.log(`  compiled is ${speedup(1, 2)}× faster inbound, ${speedup(4, 5)}× faster outbound (medians)`);
  const fallbacks = compiled.report().fallbacks;
  console.log(`  fallbacks: ${fallbacks.length === 0 ? 'none' : JSON.stringify(fallbacks)}`);
}

console.log(`codec benchmark — node ${process.version}, median of 7 rounds of 20000 messages`);
if (!process.env.ONLY_RICH) run('Order (DESIGN.md shape, 3 lines)', Order.submit, order);
run('RichOrder (email, ISO date, enum, optional, 3 lines)', RichOrder.submit, rich);
