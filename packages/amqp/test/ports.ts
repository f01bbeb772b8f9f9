import { readFileSync } from 'node:fs';
import * as net from 'node:net';

/*
 * Ports for the RabbitMQ nodes the tests start. A port the kernel hands out for `listen(0)` lies
 * in its ephemeral range, the same range it takes the local port of every outgoing connection
 * from; in the seconds between choosing it and the node binding it, one of the suite's many
 * connections can take it. The Erlang VM that cannot bind its distribution port then never
 * writes its pid file and `rabbitmqctl wait` runs into its timeout (seen in CI). So the ports
 * come from below (or above) the ephemeral range, where no outgoing connection lands, at random
 * so that two processes rarely try the same one, and each is checked free by listening on it.
 */

const EPHEMERAL_RANGE_FILE = '/proc/sys/net/ipv4/ip_local_port_range';
/** Linux's default, used where the file cannot be read. */
const DEFAULT_EPHEMERAL: readonly [number, number] = [32768, 60999];
/** Ports below this are left alone: well-known and registered services live there. */
const LOWEST = 10_000;
const HIGHEST = 65_535;
/** Enough random draws to find a free port in any sane range; more means something is wrong. */
const MAX_DRAWS = 200;

/** The kernel's ephemeral port range, `[low, high]`. */
export function ephemeralRange(read: (path: string) => string = (p) => readFileSync(p, 'utf8')): readonly [number, number] {
  try {
    const [low, high] = read(EPHEMERAL_RANGE_FILE).trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high) && low! > 0 && high! >= low!) return [low!, high!];
  } catch {
    // not Linux, or no /proc: the default
  }
  return DEFAULT_EPHEMERAL;
}

/** The wider of the two stretches outside the ephemeral range, `[low, high]`. */
export function rangeOutside([low, high]: readonly [number, number]): readonly [number, number] {
  const below: [number, number] = [LOWEST, low - 1];
  const above: [number, number] = [high + 1, HIGHEST];
  const size = ([a, b]: readonly [number, number]): number => b - a + 1;
  const wider = size(below) >= size(above) ? below : above;
  if (size(wider) < 100) throw new Error(`no room for test ports outside the ephemeral range ${low}-${high}: narrow it in ${EPHEMERAL_RANGE_FILE}`);
  return wider;
}

/** Whether `port` can be listened on at 127.0.0.1 now. */
export function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Ports this process has handed out: never handed out twice, even once free again. */
const handedOut = new Set<number>();

/**
 * A port on 127.0.0.1 that is free now, outside the ephemeral range (so no outgoing connection
 * takes it before the node binds it) and not handed out before by this process.
 */
export async function freePort(): Promise<number> {
  const [low, high] = rangeOutside(ephemeralRange());
  for (let draw = 0; draw < MAX_DRAWS; draw++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (handedOut.has(port)) continue;
    if (!(await canListen(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`freePort: no free port found in ${low}-${high} after ${MAX_DRAWS} tries`);
}
