import * as net from 'node:net';

/**
 * A TCP proxy in front of a broker, for network faults that leave the broker alone:
 * - `cut()` closes every connection and stops listening: the broker "goes away";
 * - `blackhole()` keeps every open connection open but silently drops what either side sends,
 *   as a dead peer, a lost route or a NAT that forgot the connection does. New connections pass.
 */
export interface TcpProxy {
  readonly port: number;
  /** `url` with this proxy's host and port: same credentials, vhost and query. */
  via(url: string): string;
  cut(): void;
  /** Returns how many open connections were blackholed. */
  blackhole(): number;
  /** Closes everything; harmless twice. */
  close(): void;
}

export function tcpProxy(targetUrl: string): Promise<TcpProxy> {
  const target = new URL(targetUrl);
  const sockets = new Set<net.Socket>();
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket; holed: boolean }>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 5672), target.hostname);
    const pair = { client, upstream, holed: false };
    pairs.add(pair);
    const end = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', end);
      s.on('close', () => {
        sockets.delete(s);
        // a blackholed connection stays open on the other side: the peer must find out by itself
        if (!pair.holed) end();
      });
    }
    client.on('data', (chunk: Buffer) => void (pair.holed || upstream.write(chunk)));
    upstream.on('data', (chunk: Buffer) => void (pair.holed || client.write(chunk)));
  });
  const close = (): void => {
    server.close();
    sockets.forEach((s) => s.destroy());
    pairs.clear();
  };
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      resolve({
        port,
        via(url) {
          const parsed = new URL(url);
          parsed.hostname = '127.0.0.1';
          parsed.port = String(port);
          return parsed.toString();
        },
        cut: close,
        blackhole() {
          for (const pair of pairs) pair.holed = true;
          return pairs.size;
        },
        close,
      });
    });
  });
}
