/**
 * What signing (HMAC-SHA256) and encryption (AES-256-GCM) cost per event, for the benchmark's
 * ~200-byte Order: MessageSecurity.seal on publish and .open on consume, timed over many events
 * in this process. `npm run bench` prints it after the end-to-end figures, beside raw amqplib's
 * CPU per event from the same run; `npm run bench:security` prints it alone.
 * Env: BENCH_SECURITY_EVENTS (200000), BENCH_SECURITY_ROUNDS (5).
 */
import { createCipheriv, createHmac, generateKeyPairSync } from 'node:crypto';
import { MessageSecurity, type Delivery, type OutgoingMessage, type SecurityOptions } from '@tidings/core';
import { sampleOrder } from './orders';

const EVENTS = Number(process.env.BENCH_SECURITY_EVENTS ?? 200_000);
const ROUNDS = Number(process.env.BENCH_SECURITY_ROUNDS ?? 5);

export interface SecurityCost {
  readonly bodyBytes: number;
  /** CPU µs per event, the median of the rounds. */
  readonly sign_us: number;
  readonly verify_us: number;
  readonly encrypt_us: number;
  readonly decrypt_us: number;
  readonly sign_encrypt_us: number;
  readonly verify_decrypt_us: number;
  /** Ed25519 signatures instead of HMAC. */
  readonly ed25519_sign_us: number;
  readonly ed25519_verify_us: number;
  /** Node's crypto alone on the same body, the floor under the figures above: one createHmac, one AES-256-GCM cipher. */
  readonly hmac_floor_us: number;
  readonly gcm_floor_us: number;
}

const key = (id: string, fill: number) => ({ id, secret: Buffer.alloc(32, fill) });

function message(): OutgoingMessage {
  return {
    exchange: 'order',
    routingKey: 'order.v1.submit',
    body: Buffer.from(JSON.stringify(sampleOrder(42))),
    mandatory: true,
    properties: {
      messageId: '0b9d6f0e-4b8a-4a57-9d0e-5f1f4c3a2b1c',
      timestamp: Date.now(),
      contentType: 'application/json',
      type: 'order.v1.submit',
      appId: 'order',
      correlationId: '0b9d6f0e-4b8a-4a57-9d0e-5f1f4c3a2b1c',
      headers: {},
    },
  };
}

function delivery(m: OutgoingMessage): Delivery {
  return { queue: 'billing', exchange: m.exchange, routingKey: m.routingKey, body: m.body, properties: m.properties, redelivered: false, attempt: 1 };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/**
 * CPU µs per call of `fn` (this process's user + system time, so a busy machine inflates it less
 * than wall time), the median of ROUNDS rounds of EVENTS calls, after one warm-up round.
 */
function timePerCall(fn: () => unknown): number {
  const rounds: number[] = [];
  for (let r = 0; r <= ROUNDS; r++) {
    const start = process.cpuUsage();
    for (let i = 0; i < EVENTS; i++) fn();
    const used = process.cpuUsage(start);
    if (r > 0) rounds.push((used.user + used.system) / EVENTS);
  }
  return Math.round(median(rounds) * 100) / 100;
}

function pair(options: SecurityOptions): { seal: number; open: number } {
  const security = new MessageSecurity(options);
  const m = message();
  const sealed = delivery(security.seal(m));
  // the check must pass, or the figure would time a failure
  security.open(sealed);
  return { seal: timePerCall(() => security.seal(m)), open: timePerCall(() => security.open(sealed)) };
}

export function measureSecurity(): SecurityCost {
  const signing = pair({ signing: { keyring: { current: key('k1', 1) } } });
  const encryption = pair({ encryption: { keyring: { current: key('e1', 2) } } });
  const ed = generateKeyPairSync('ed25519');
  const ed25519 = pair({ signing: { keyring: { current: { id: 'p1', privateKey: ed.privateKey, publicKey: ed.publicKey } } } });
  const both = pair({ signing: { keyring: { current: key('k1', 1) } }, encryption: { keyring: { current: key('e1', 2) } } });
  const body = message().body;
  const secret = Buffer.alloc(32, 3);
  const iv = Buffer.alloc(12, 4);
  const aad = Buffer.from('order.v1.submit');
  const gcm = (): Buffer => {
    const cipher = createCipheriv('aes-256-gcm', secret, iv);
    cipher.setAAD(aad);
    cipher.update(body);
    cipher.final();
    return cipher.getAuthTag();
  };
  return {
    bodyBytes: body.length,
    sign_us: signing.seal,
    verify_us: signing.open,
    encrypt_us: encryption.seal,
    decrypt_us: encryption.open,
    sign_encrypt_us: both.seal,
    verify_decrypt_us: both.open,
    ed25519_sign_us: ed25519.seal,
    ed25519_verify_us: ed25519.open,
    hmac_floor_us: timePerCall(() => createHmac('sha256', secret).update(body).digest()),
    gcm_floor_us: timePerCall(gcm),
  };
}

/** The figures in a line, and as a share of raw amqplib's CPU per event when given. */
export function formatSecurity(cost: SecurityCost, rawCpuUsPerEvent?: number): string {
  const share = (us: number): string => (rawCpuUsPerEvent ? ` (${((us / rawCpuUsPerEvent) * 100).toFixed(1)}% of raw amqplib's ${rawCpuUsPerEvent} µs CPU/event)` : '');
  return (
    `security CPU per event (${cost.bodyBytes}-byte Order, ${EVENTS} events × ${ROUNDS} rounds, median): ` +
    `sign ${cost.sign_us} µs${share(cost.sign_us)}, verify ${cost.verify_us} µs, ` +
    `encrypt ${cost.encrypt_us} µs${share(cost.encrypt_us)}, decrypt ${cost.decrypt_us} µs, ` +
    `sign+encrypt ${cost.sign_encrypt_us} µs, verify+decrypt ${cost.verify_decrypt_us} µs, ` +
    `Ed25519 sign ${cost.ed25519_sign_us} µs, verify ${cost.ed25519_verify_us} µs; ` +
    `Node's crypto alone: HMAC-SHA256 ${cost.hmac_floor_us} µs, AES-256-GCM ${cost.gcm_floor_us} µs`
  );
}

if (require.main === module) {
  const cost = measureSecurity();
  console.log(formatSecurity(cost));
  console.log(JSON.stringify(cost));
}
