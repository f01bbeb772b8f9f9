import { redact } from '@tidings/core';
import { AmqpConnectionError } from '../errors';

/** Why one broker URL did not give a connection, as far as the error tells. */
export type FailureKind = 'vhost' | 'login' | 'tls-ca' | 'tls-hostname' | 'tls-client' | 'unreachable' | 'other';

/** One URL tried, and how it failed. */
export interface FailedAttempt {
  readonly url: string;
  readonly error: unknown;
}

/**
 * The virtual host and user an AMQP URL names, as amqplib reads them: the URL-decoded path
 * without its leading slash ('/' when there is none), and the user name ('guest' when none).
 */
export function vhostAndUser(url: string): { vhost: string; user: string } {
  try {
    const parsed = new URL(url);
    const path = parsed.pathname.replace(/^\//, '');
    return { vhost: path === '' ? '/' : decodeURIComponent(path), user: decodeURIComponent(parsed.username) || 'guest' };
  } catch {
    return { vhost: '/', user: 'guest' };
  }
}

const UNREACHABLE = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|socket hang up|timed? ?out/i;

/** What kind of refusal an amqplib connect error is. */
export function failureKind(error: unknown): FailureKind {
  const e = error as { message?: unknown; code?: unknown } | undefined;
  const text = `${String(e?.code ?? '')} ${String(e?.message ?? error)}`;
  // The broker answers connection.open with connection.close when the vhost does not exist or
  // the user has no permissions on it (530 NOT_ALLOWED); amqplib only says it expected OpenOk.
  if (/Expected ConnectionOpenOk; got <ConnectionClose/.test(text) || /\b530\b|NOT_ALLOWED|access to vhost/i.test(text)) return 'vhost';
  if (/\b403\b|ACCESS[-_]REFUSED/i.test(text)) return 'login';
  // Node's certificate checks: the broker's certificate names another host, or no CA given signs it
  if (/ERR_TLS_CERT_ALTNAME_INVALID|does not match certificate's altnames/i.test(text)) return 'tls-hostname';
  // the broker's alert: it does not trust, or did not get, the client certificate
  if (/alert (unknown ca|bad certificate|certificate required|certificate unknown|unsupported certificate|certificate revoked|certificate expired)/i.test(text)) return 'tls-client';
  if (/SELF_SIGNED_CERT|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|CERT_UNTRUSTED|CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|self[- ]signed certificate|unable to verify|unable to get (local )?issuer/i.test(text)) return 'tls-ca';
  if (UNREACHABLE.test(text)) return 'unreachable';
  return 'other';
}

/** The broker answered and refused (vhost or login), or its certificate was refused: trying again cannot help. */
export function isRefusal(error: unknown): boolean {
  const kind = failureKind(error);
  return kind === 'vhost' || kind === 'login' || kind === 'tls-ca' || kind === 'tls-hostname' || kind === 'tls-client';
}

/** One URL's failure, in a sentence, password hidden. */
export function describeFailure(url: string, error: unknown): string {
  const raw = redact(String((error as Error | undefined)?.message ?? error));
  const { vhost, user } = vhostAndUser(url);
  if (failureKind(error) === 'vhost') return `${redact(url)}: the broker refused to open vhost '${vhost}' for user '${user}' (${raw})`;
  return `${redact(url)}: ${raw}`;
}

const quote = (text: string): string => (/^[\w.-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`);

/** What to do about each kind of failure among the URLs tried. */
function hints(attempts: readonly FailedAttempt[]): string[] {
  const kinds = new Set(attempts.map((a) => failureKind(a.error)));
  const said: string[] = [];
  const vhostFailure = attempts.find((a) => failureKind(a.error) === 'vhost');
  if (vhostFailure) {
    const { vhost, user } = vhostAndUser(vhostFailure.url);
    said.push(
      `The vhost '${vhost}' does not exist, or user '${user}' has no permissions on it: create it with ` +
        `rabbitmqctl add_vhost ${quote(vhost)} and grant them with rabbitmqctl set_permissions -p ${quote(vhost)} ${quote(user)} '.*' '.*' '.*' ` +
        `(or fix the vhost: it is the URL's path, amqp://host:5672/<vhost>, and no path means '/').`,
    );
  }
  if (kinds.has('login')) {
    const { user } = vhostAndUser(attempts.find((a) => failureKind(a.error) === 'login')!.url);
    said.push(
      `The broker refused the login of user '${user}': check the user name and password in AMQP_URL or the url option ` +
        `(rabbitmqctl add_user, rabbitmqctl change_password); the default user guest may only connect from localhost.`,
    );
  }
  if (kinds.has('tls-ca')) {
    said.push(
      `The broker's TLS certificate is not signed by a CA this client trusts: pass the CA that signed it in the tls.ca option ` +
        `(e.g. tls: { ca: readFileSync('/etc/tidings/ca.pem') }); keep rejectUnauthorized on.`,
    );
  }
  if (kinds.has('tls-hostname')) {
    said.push(
      `The broker's TLS certificate does not name the host in the URL: connect with a host name the certificate carries, ` +
        `or set tls.servername to one; keep rejectUnauthorized on.`,
    );
  }
  if (kinds.has('tls-client')) {
    said.push(
      `The broker refused this client's TLS certificate: give tls.cert and tls.key signed by a CA the broker trusts ` +
        `(its ssl_options.cacertfile), not expired.`,
    );
  }
  if (kinds.has('unreachable') || kinds.has('other') || said.length === 0) {
    said.push('Check that the broker runs (rabbitmq-server -detached), that AMQP_URL or the url option points at it, and the credentials.');
  }
  return said;
}

/** The error for a first connection that no URL accepted: each URL's failure, then what to do. */
export function connectionFailure(attempts: readonly FailedAttempt[], deadlineMs = 0): AmqpConnectionError {
  const each = attempts.map((a) => describeFailure(a.url, a.error)).join('; ');
  const within = deadlineMs > 0 ? ` within ${deadlineMs} ms (startupDeadlineMs)` : '';
  // no `cause`: printed with it, the original error could show what redaction hid
  return new AmqpConnectionError(`Could not connect to RabbitMQ${within} (${each}). ${hints(attempts).join(' ')}`);
}
