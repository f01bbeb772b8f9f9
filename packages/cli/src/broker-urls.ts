import { DEFAULT_AMQP_URL } from '@tidings/amqp';
import { redact } from '@tidings/core';

/** The broker URLs AMQP_URL names: one, or several separated by commas (a cluster's nodes). */
export function brokerUrls(env: NodeJS.ProcessEnv = process.env): string[] {
  const urls = (env.AMQP_URL ?? '').split(',').map((u) => u.trim()).filter((u) => u.length > 0);
  return urls.length > 0 ? urls : [DEFAULT_AMQP_URL];
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** Whether an error says the broker at that URL could not be reached (so the next URL is worth a try). */
function unreachable(error: unknown): boolean {
  for (let e = error as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && UNREACHABLE.has(e.code)) return true;
  }
  return false;
}

/**
 * Runs `work` against the first URL whose broker can be reached, trying each in turn as the
 * transport does. Any other failure (a missing queue, a refused login) is the answer.
 */
export async function withFirstBroker<T>(urls: readonly string[], work: (url: string) => Promise<T>): Promise<T> {
  const failures: string[] = [];
  for (const url of urls) {
    try {
      return await work(url);
    } catch (error) {
      if (!unreachable(error) || urls.length === 1) throw error;
      failures.push(`${redact(url)}: ${redact((error as Error).message)}`);
    }
  }
  throw new Error(`No broker of AMQP_URL could be reached (${failures.join('; ')}).`);
}
