import { deadLetterQueueName, HEADERS } from '../constants';
import { TopologyError, TransportClosedError, UnroutableError } from '../errors';
import { topicMatches } from '../routing';
import { deadLetterHeaders, retryHeaders } from './copy-headers';
import type {
  BindingSpec,
  ConsumeOptions,
  Consumer,
  Delivery,
  DeliveryHandler,
  Disposition,
  ExchangeSpec,
  MessageProperties,
  OutgoingMessage,
  QueueSpec,
  SettleListener,
  Topology,
  Transport,
  TransportEvent,
  TransportHealth,
  TransportTelemetry,
} from './transport';
import { SYSTEM_IN_MEMORY } from '../telemetry/semconv';

const TELEMETRY: TransportTelemetry = Object.freeze({ system: SYSTEM_IN_MEMORY });

interface Stored {
  readonly exchange: string;
  readonly routingKey: string;
  readonly body: Buffer;
  readonly properties: MessageProperties;
  readonly attempt: number;
  redelivered: boolean;
}

interface MemConsumer {
  readonly id: number;
  readonly handler: DeliveryHandler;
  readonly prefetch: number;
  readonly settled: SettleListener | undefined;
  unacked: number;
  cancelled: boolean;
}

interface MemQueue {
  readonly spec: QueueSpec;
  readonly messages: Stored[];
  readonly consumers: MemConsumer[];
  readonly bindings: BindingSpec[];
  /** Handed to a consumer, not settled yet. */
  readonly inflight: Set<Stored>;
  next: number;
  scheduled: boolean;
}

/**
 * The embedded transport: topic, direct and fanout exchanges, queues and bindings,
 * competing consumers with prefetch, delayed retries and dead-letter queues, all in this
 * process. Behaves like RabbitMQ where the bus can tell, so code that works here works there;
 * nothing survives the process.
 */
export class InMemoryTransport implements Transport {
  private readonly exchanges = new Map<string, ExchangeSpec>();
  private readonly queues = new Map<string, MemQueue>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly listeners = new Set<(event: TransportEvent) => void>();
  /** Generation of the simulated connection: settlements from an older one are void. */
  private epoch = 0;
  private consumerIds = 0;
  private connected = false;
  private closed = false;

  async connect(): Promise<void> {
    this.assertOpen('connect');
    if (!this.connected) {
      this.connected = true;
      this.emit({ type: 'connected' });
    }
  }

  async declare(topology: Topology): Promise<void> {
    this.assertOpen('declare topology');
    for (const e of topology.exchanges) {
      const existing = this.exchanges.get(e.name);
      if (existing && (existing.type !== e.type || existing.durable !== e.durable)) {
        throw new TopologyError(
          `Exchange '${e.name}' already exists as ${existing.type}${existing.durable ? ', durable' : ''}; cannot redeclare it as ${e.type}${e.durable ? ', durable' : ''}.`,
          e.name,
        );
      }
      if (!existing) this.exchanges.set(e.name, e);
    }
    for (const q of topology.queues) {
      const queue = this.declareQueue(q);
      this.declareQueue({ ...q, name: deadLetterQueueName(q.name), bindings: [] });
      for (const b of q.bindings) {
        if (!this.exchanges.has(b.exchange)) {
          throw new TopologyError(`Queue '${q.name}' binds to exchange '${b.exchange}', which is not declared.`, b.exchange);
        }
        if (!queue.bindings.some((x) => x.exchange === b.exchange && x.pattern === b.pattern)) queue.bindings.push(b);
      }
    }
  }

  private declareQueue(spec: QueueSpec): MemQueue {
    const existing = this.queues.get(spec.name);
    if (existing) {
      for (const field of ['queueType', 'durable', 'autoDelete'] as const) {
        if (existing.spec[field] !== spec[field]) {
          throw new TopologyError(
            `Queue '${spec.name}' already exists with ${field}=${String(existing.spec[field])}; cannot redeclare it with ${field}=${String(spec[field])}. Delete the queue or use the existing setting.`,
            spec.name,
          );
        }
      }
      return existing;
    }
    const queue: MemQueue = { spec, messages: [], consumers: [], bindings: [], inflight: new Set(), next: 0, scheduled: false };
    this.queues.set(spec.name, queue);
    return queue;
  }

  async publish(message: OutgoingMessage): Promise<void> {
    this.assertOpen('publish');
    const exchange = this.exchanges.get(message.exchange);
    if (!exchange) {
      throw new TopologyError(`Exchange '${message.exchange}' does not exist; declare it (bus.start() or publish through the bus) first.`, message.exchange);
    }
    const targets: MemQueue[] = [];
    for (const queue of this.queues.values()) {
      const routed = queue.bindings.some(
        (b) =>
          b.exchange === exchange.name &&
          (exchange.type === 'fanout' ||
            (exchange.type === 'direct' ? b.pattern === message.routingKey : topicMatches(b.pattern, message.routingKey))),
      );
      if (routed) targets.push(queue);
    }
    if (targets.length === 0 && message.mandatory) throw new UnroutableError(message.exchange, message.routingKey);
    for (const queue of targets) {
      this.enqueue(queue, {
        exchange: message.exchange,
        routingKey: message.routingKey,
        body: Buffer.from(message.body),
        properties: cloneProperties(message.properties),
        attempt: attemptOf(message.properties),
        redelivered: false,
      });
    }
  }

  async consume(queueName: string, handler: DeliveryHandler, options: ConsumeOptions): Promise<Consumer> {
    this.assertOpen('consume');
    const queue = this.queues.get(queueName);
    if (!queue) throw new TopologyError(`Queue '${queueName}' does not exist; declare it before consuming.`, queueName);
    const consumer: MemConsumer = { id: ++this.consumerIds, handler, prefetch: Math.max(1, options.prefetch), settled: options.settled, unacked: 0, cancelled: false };
    queue.consumers.push(consumer);
    this.schedule(queue);
    return {
      queue: queueName,
      cancel: async () => {
        consumer.cancelled = true;
        const i = queue.consumers.indexOf(consumer);
        if (i >= 0) queue.consumers.splice(i, 1);
      },
    };
  }

  /** Messages ready in a queue (not handed to a consumer). For tests and the CLI. */
  depth(queueName: string): number {
    return this.queues.get(queueName)?.messages.length ?? 0;
  }

  /**
   * Acts as if the connection dropped: every delivery not yet settled returns to its queue
   * marked redelivered, and their late settlements are ignored, as on a real broker.
   */
  simulateConnectionLoss(): void {
    this.epoch++;
    this.emit({ type: 'disconnected', error: new Error('simulated connection loss') });
    for (const queue of this.queues.values()) {
      for (const c of queue.consumers) c.unacked = 0;
      for (const m of [...queue.inflight].reverse()) {
        m.redelivered = true;
        queue.messages.unshift(m);
      }
      queue.inflight.clear();
      this.schedule(queue);
    }
    this.emit({ type: 'connected' });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.connected = false;
    this.timers.forEach((t) => clearTimeout(t));
    this.timers.clear();
    for (const queue of this.queues.values()) queue.consumers.forEach((c) => (c.cancelled = true));
    this.emit({ type: 'disconnected' });
  }

  health(): TransportHealth {
    return {
      connected: this.connected && !this.closed,
      consumers: Object.fromEntries([...this.queues.entries()].filter(([, q]) => q.consumers.length > 0).map(([n, q]) => [n, q.consumers.length])),
      pendingPublishes: 0,
    };
  }

  /** `messaging.system` is `tidings_in_memory`: there is no server to name. */
  telemetry(): TransportTelemetry {
    return TELEMETRY;
  }

  subscribe(listener: (event: TransportEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: TransportEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // a listener's failure is not the transport's
      }
    }
  }

  private enqueue(queue: MemQueue, message: Stored): void {
    queue.messages.push(message);
    this.schedule(queue);
  }

  private schedule(queue: MemQueue): void {
    if (queue.scheduled || this.closed) return;
    queue.scheduled = true;
    setImmediate(() => {
      queue.scheduled = false;
      this.drain(queue);
    });
  }

  private drain(queue: MemQueue): void {
    while (!this.closed && queue.messages.length > 0) {
      const consumer = this.pickConsumer(queue);
      if (!consumer) return;
      const message = queue.messages.shift()!;
      this.deliver(queue, consumer, message);
    }
  }

  private pickConsumer(queue: MemQueue): MemConsumer | undefined {
    const n = queue.consumers.length;
    for (let i = 0; i < n; i++) {
      const c = queue.consumers[(queue.next + i) % n]!;
      if (!c.cancelled && c.unacked < c.prefetch) {
        queue.next = (queue.next + i + 1) % n;
        return c;
      }
    }
    return undefined;
  }

  private deliver(queue: MemQueue, consumer: MemConsumer, message: Stored): void {
    queue.inflight.add(message);
    consumer.unacked++;
    const epoch = this.epoch;
    const delivery: Delivery = {
      queue: queue.spec.name,
      exchange: message.exchange,
      routingKey: message.routingKey,
      body: message.body,
      properties: message.properties,
      redelivered: message.redelivered,
      attempt: message.attempt,
    };
    const settle = (disposition: Disposition | undefined): void => {
      if (epoch !== this.epoch || this.closed) return; // the "channel" it came on is gone
      queue.inflight.delete(message);
      consumer.unacked--;
      if (disposition === undefined) {
        message.redelivered = true;
        queue.messages.unshift(message);
      } else if (disposition.action === 'retry') {
        this.retryLater(queue, message, disposition.delayMs);
      } else if (disposition.action === 'dead-letter') {
        this.deadLetter(queue, message, disposition);
      }
      if (disposition !== undefined && consumer.settled !== undefined) {
        const now = performance.now();
        const copyTo = disposition.action === 'retry' ? queue.spec.name : disposition.action === 'dead-letter' ? deadLetterQueueName(queue.spec.name) : undefined;
        consumer.settled(delivery, { disposition, copy: copyTo === undefined ? undefined : { exchange: '', routingKey: copyTo, startTime: now, endTime: now } });
      }
      this.schedule(queue);
    };
    Promise.resolve()
      .then(() => consumer.handler(delivery))
      .then(settle, () => settle(undefined));
  }

  private retryLater(queue: MemQueue, message: Stored, delayMs: number): void {
    const copy: Stored = {
      ...message,
      redelivered: false,
      attempt: message.attempt + 1,
      properties: { ...message.properties, headers: { ...message.properties.headers, ...retryHeaders(message, message.attempt + 1) } },
    };
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.queues.get(queue.spec.name) === queue) this.enqueue(queue, copy);
    }, delayMs);
    this.timers.add(timer);
  }

  private deadLetter(queue: MemQueue, message: Stored, d: Extract<Disposition, { action: 'dead-letter' }>): void {
    const dlq = this.queues.get(deadLetterQueueName(queue.spec.name));
    if (!dlq) return;
    this.enqueue(dlq, {
      ...message,
      redelivered: false,
      properties: {
        ...message.properties,
        headers: {
          ...message.properties.headers,
          ...deadLetterHeaders({ queue: queue.spec.name, exchange: message.exchange, routingKey: message.routingKey }, d),
        },
      },
    });
  }

  private assertOpen(operation: string): void {
    if (this.closed) throw new TransportClosedError(operation);
  }
}

function attemptOf(properties: MessageProperties): number {
  const a = Number(properties.headers[HEADERS.attempt]);
  return Number.isInteger(a) && a >= 1 ? a : 1;
}

function cloneProperties(p: MessageProperties): MessageProperties {
  return { ...p, headers: { ...p.headers } };
}
