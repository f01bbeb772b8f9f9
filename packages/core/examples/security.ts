import 'reflect-metadata';
import { IsInt, IsString } from 'class-validator';
import { Event, EventBus, EventType, Exchange, type Key, type Keyring, type SecurityOptions, type Transport } from '@tidings/core';

export const PAYMENTS = new Exchange('payments');

export class Payment {
  @Event(PAYMENTS, 'payment.v1.captured') static readonly captured: EventType<Payment>;
  @Event(PAYMENTS, 'payment.v1.refunded') static readonly refunded: EventType<Payment>;

  @IsInt() orderId!: number;
  @IsString() card!: string;
}

/** A key from the environment: `PAYMENTS_SIGNING_K2=$(openssl rand -base64 32)`. */
export function keyFromEnv(id: string, variable: string, env: NodeJS.ProcessEnv = process.env): Key {
  const base64 = env[variable];
  if (!base64) throw new Error(`Set ${variable} to a base64 secret (openssl rand -base64 32).`);
  return { id, secret: Buffer.from(base64, 'base64') };
}

/**
 * Every event on the payments exchange is signed; the captured payment, which carries the card,
 * is encrypted too. Publishers and consumers of payments are given the same security.
 */
export function paymentSecurity(env: NodeJS.ProcessEnv = process.env): SecurityOptions {
  return {
    signing: { keyring: { current: keyFromEnv('k2', 'PAYMENTS_SIGNING_K2', env), accepted: [keyFromEnv('k1', 'PAYMENTS_SIGNING_K1', env)] }, exchanges: [PAYMENTS] },
    encryption: { keyring: { current: keyFromEnv('e1', 'PAYMENTS_ENCRYPTION_E1', env) }, events: [Payment.captured] },
  };
}

export function paymentsBus(service: string, transport: Transport, env: NodeJS.ProcessEnv = process.env): EventBus {
  return new EventBus({ service, transport, security: paymentSecurity(env) });
}

/**
 * Ed25519 instead of a shared secret: only the payments service holds the private key; its
 * consumers verify with the public key, so none of them can sign a payment.
 */
export function ed25519Security(role: 'publisher' | 'consumer', env: NodeJS.ProcessEnv = process.env): SecurityOptions {
  const key = role === 'publisher' ? { id: 'p1', privateKey: env.PAYMENTS_ED25519_PRIVATE_PEM ?? '' } : { id: 'p1', publicKey: env.PAYMENTS_ED25519_PUBLIC_PEM ?? '' };
  return { signing: { keyring: { current: key }, exchanges: [PAYMENTS] } };
}

/**
 * Rotating k1 to k2, one deploy per step, waiting between steps until every service runs the
 * previous one (and, before the last, until no message signed with k1 is left in any queue).
 */
export function rotation(k1: Key, k2: Key): Record<'before' | 'step1' | 'step2' | 'step3', Keyring> {
  return {
    before: { current: k1 },
    step1: { current: k1, accepted: [k2] }, // every consumer accepts k2 before anyone signs with it
    step2: { current: k2, accepted: [k1] }, // publishers sign with k2; k1 messages still verify
    step3: { current: k2 }, // k1 retired: a message signed with it is dead-lettered as unknown-key
  };
}
