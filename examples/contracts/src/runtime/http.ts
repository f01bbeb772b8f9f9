import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface JsonRequest {
  readonly method: string;
  /** Path without the query string: `/orders/3/chargeback`. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** The parsed JSON body; undefined when there was none. */
  readonly body: unknown;
}

export interface JsonResponse {
  readonly status: number;
  readonly body: unknown;
}

/** Answers a request, or returns undefined for 404. */
export type JsonRoute = (request: JsonRequest) => JsonResponse | undefined | Promise<JsonResponse | undefined>;

export interface JsonServer {
  /** The port it listens on (the real one when asked for port 0). */
  readonly port: number;
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1_000_000;

/** A small JSON-over-HTTP server on node:http: enough for curl and for tests. */
export async function serveJson(port: number, route: JsonRoute, host = '127.0.0.1'): Promise<JsonServer> {
  const server = createServer((req, res) => {
    const reply = (status: number, body: unknown): void => {
      const text = JSON.stringify(body, null, 2) + '\n';
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    handle(req, route).then(
      (response) => reply(response.status, response.body),
      (error: unknown) => reply(500, { error: error instanceof Error ? error.message : String(error) }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    port: actual,
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${actual}`,
    server,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

/**
 * Handles a request inside an HTTP server span (a no-op unless tracing is on), continuing the
 * caller's trace from its `traceparent` header: what HTTP instrumentation would do.
 */
function handle(req: IncomingMessage, route: JsonRoute): Promise<JsonResponse> {
  const method = req.method ?? 'GET';
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  const template = path.replace(/\/[0-9]+(?=\/|$)/g, '/{id}');
  const parent = propagation.extract(context.active(), req.headers);
  return trace.getTracer('shop-http').startActiveSpan(
    `${method} ${template}`,
    { kind: SpanKind.SERVER, attributes: { 'http.request.method': method, 'url.path': path, 'http.route': template } },
    parent,
    async (span) => {
      try {
        const response = await respond(req, route);
        span.setAttribute('http.response.status_code', response.status);
        return response;
      } finally {
        span.end();
      }
    },
  );
}

async function respond(req: IncomingMessage, route: JsonRoute): Promise<JsonResponse> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const raw = await readBody(req);
  if (raw === 'too-large') return { status: 413, body: { error: `The body is larger than ${MAX_BODY_BYTES} bytes.` } };
  let body: unknown;
  if (raw.length > 0) {
    try {
      body = JSON.parse(raw);
    } catch {
      return { status: 400, body: { error: 'The body is not valid JSON.' } };
    }
  }
  const response = await route({ method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, body });
  return response ?? { status: 404, body: { error: `No route for ${req.method} ${url.pathname}.` } };
}

function readBody(req: IncomingMessage): Promise<string | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? 'too-large' : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** A port from the environment, or the default; 0 means "any free port". */
export function portFromEnv(variable: string, fallback: number, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[variable];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`${variable}=${raw} is not a port; use a whole number from 0 to 65535.`);
  }
  return port;
}
