import type { Channel, ChannelModel } from 'amqplib';
import { TopologyError, type ExchangeSpec, type Logger, type QueueSpec, type Topology } from '@tidings/core';
import { isConnectionLoss } from '../connection/connection';
import type { TransportEvents } from '../events';
import { declareDelayQueue, declareExchange, declareQueue, delayQueueName, type DelayQueueSpec } from './declarations';
import { topologyError } from './topology-error';

/**
 * Runs a declaration on another node than the live connection's (a short-lived connection);
 * undefined when no other node is there to take it.
 */
export type OnOtherNode = <T>(fn: (ch: Channel, url: string) => Promise<T>) => Promise<{ value: T; url: string } | undefined>;

/**
 * The one place that remembers what was declared and declares it again after a reconnect.
 * Declarations run one at a time on a shared channel, because the broker closes a channel
 * on a refusal and the next declaration must not fail with it.
 */
export class Declarer {
  private channel: Promise<Channel> | undefined;
  private serial: Promise<unknown> = Promise.resolve();
  private readonly exchanges = new Map<string, ExchangeSpec>();
  private readonly queues = new Map<string, QueueSpec>();
  private readonly delayQueues = new Map<string, DelayQueueSpec>();
  private readonly delayDeclaring = new Map<string, Promise<void>>();
  /** Given while a connection was being made: declared first on it, remembered once the broker took them. */
  private readonly pendingExchanges = new Map<string, ExchangeSpec>();
  private readonly pendingQueues = new Map<string, QueueSpec>();
  /** Exchanges known to exist (declared here or checked passively). */
  private readonly knownExchanges = new Set<string>(['']);

  constructor(
    private readonly connection: () => ChannelModel | undefined,
    private readonly events: TransportEvents,
    private readonly logger: Logger,
    /**
     * Given, a quorum queue's new delay queues are declared there, so that their leader is not the
     * node that leads the service queue (see `declareDelayQueueAway`).
     */
    private readonly otherNode?: OnOtherNode,
  ) {}

  /** Declares and remembers; a refusal by the broker rejects with a TopologyError. */
  async declare(topology: Topology): Promise<void> {
    await this.serialised(async () => {
      for (const e of topology.exchanges) {
        await this.onChannel((ch) => declareExchange(ch, e), `exchange '${e.name}'`);
        this.exchanges.set(e.name, e);
        this.knownExchanges.add(e.name);
      }
      for (const q of topology.queues) {
        await this.onChannel((ch) => declareQueue(ch, q), `queue '${q.name}'`);
        this.recordQueue(q);
      }
    });
  }

  private recordQueue(q: QueueSpec): void {
    const existing = this.queues.get(q.name);
    const bindings = [...(existing?.bindings ?? [])];
    for (const b of q.bindings) if (!bindings.some((x) => x.exchange === b.exchange && x.pattern === b.pattern)) bindings.push(b);
    this.queues.set(q.name, { ...q, bindings });
  }

  /**
   * A topology given while the connection is being made: `redeclareAll` declares it first on that
   * connection, before publishes flow on it, so that a publish made meanwhile can wait in the
   * publish buffer and still find its exchange, and the queues declared with it, on arrival.
   */
  remember(topology: Topology): void {
    for (const e of topology.exchanges) if (!this.exchanges.has(e.name)) this.pendingExchanges.set(e.name, e);
    for (const q of topology.queues) {
      const pending = this.pendingQueues.get(q.name);
      this.pendingQueues.set(q.name, pending ? { ...q, bindings: [...pending.bindings, ...q.bindings] } : q);
    }
  }

  /** The connection is gone, and its channel with it. */
  onConnectionLost(): void {
    this.channel = undefined;
  }

  /** After a reconnect: everything declared so far, before publishes resume and consumers restart. */
  async redeclareAll(): Promise<void> {
    /** Whether the broker took it; a refusal is reported, a lost connection ends the round. */
    const declare = async (what: string, fn: (ch: Channel) => Promise<void>): Promise<boolean> => {
      try {
        await this.onChannel(fn, what);
        return true;
      } catch (error) {
        if (error instanceof TopologyError && isConnectionLoss(error.cause)) throw error;
        this.events.error(error as Error);
        return false;
      }
    };
    await this.serialised(async () => {
      for (const e of this.exchanges.values()) await declare(`exchange '${e.name}'`, (ch) => declareExchange(ch, e));
      // what was given while connecting leaves the pending list once tried: refused, it is not tried again
      for (const [name, e] of this.pendingExchanges) {
        if (await declare(`exchange '${name}'`, (ch) => declareExchange(ch, e))) {
          this.exchanges.set(name, e);
          this.knownExchanges.add(name);
        }
        this.pendingExchanges.delete(name);
      }
      for (const q of this.queues.values()) await declare(`queue '${q.name}'`, (ch) => declareQueue(ch, q));
      for (const [name, q] of this.pendingQueues) {
        if (await declare(`queue '${name}'`, (ch) => declareQueue(ch, q))) this.recordQueue(q);
        this.pendingQueues.delete(name);
      }
      for (const d of this.delayQueues.values()) await declare(`delay queue '${d.name}'`, (ch) => declareDelayQueue(ch, d));
    });
  }

  /** A queue (its exchanges, its dead-letter and delay queues) again, e.g. after someone deleted it. */
  async redeclareQueue(queue: string): Promise<void> {
    const spec = this.queues.get(queue);
    if (!spec) return; // not declared here: just consume again
    await this.serialised(async () => {
      for (const b of spec.bindings) {
        const e = this.exchanges.get(b.exchange);
        if (e) await this.onChannel((ch) => declareExchange(ch, e), `exchange '${e.name}'`);
      }
      await this.onChannel((ch) => declareQueue(ch, spec), `queue '${queue}'`);
      for (const d of this.delayQueues.values()) {
        if (d.target.name === queue) await this.onChannel((ch) => declareDelayQueue(ch, d), `delay queue '${d.name}'`);
      }
    });
  }

  /** The delay queue of `queue` for `bucketMs`, declared on first use; returns its name. */
  async delayQueue(queue: string, bucketMs: number): Promise<string> {
    const name = delayQueueName(queue, bucketMs);
    if (this.delayQueues.has(name)) return name;
    let declaring = this.delayDeclaring.get(name);
    if (!declaring) {
      const target: QueueSpec = this.queues.get(queue) ?? { name: queue, durable: true, autoDelete: false, queueType: 'classic', bindings: [] };
      const spec: DelayQueueSpec = { name, target, ttlMs: bucketMs };
      // Many retries may land in a new bucket at once: declare it once for all of them.
      declaring = this.serialised(() => this.declareDelayQueueAway(spec))
        .then(() => void this.delayQueues.set(name, spec))
        .finally(() => this.delayDeclaring.delete(name));
      this.delayDeclaring.set(name, declaring);
    }
    await declaring;
    return name;
  }

  /**
   * A quorum queue's leader is placed on the node of the connection that creates it (RabbitMQ's
   * default `client-local` locator), so a delay queue declared on this connection would share its
   * leader with the service queue, and `kill -9` of that node leaves the retries waiting for the
   * broker's dead-letter worker (`dead_letter_worker_publisher_confirm_timeout`). Declared over a
   * connection to another node, it is led from there. Declaring a queue that exists changes
   * nothing, so this only places the ones it creates. It is then declared on this connection too,
   * as it always was when no other node takes it (one URL, the others down or in another virtual
   * host, an error there): the broker's answer here is the one that counts.
   */
  private async declareDelayQueueAway(spec: DelayQueueSpec): Promise<void> {
    const what = `delay queue '${spec.name}'`;
    if (this.otherNode && spec.target.queueType === 'quorum') {
      try {
        const placed = await this.otherNode(async (ch) => declareDelayQueue(ch, spec));
        if (placed) this.logger.debug(`${what} declared over ${placed.url}, so that it is led away from its service queue's node`);
      } catch (error) {
        // declared here instead: this connection reports a refusal that is the broker's to make
        this.logger.debug(`${what} could not be declared on another node (${(error as Error)?.message ?? String(error)}); declaring it on this connection`);
      }
    }
    // Declared here too, placed or not: a declaration that exists changes nothing, and the
    // queue is then known to the node this transport publishes its retries through.
    await this.onChannel((ch) => declareDelayQueue(ch, spec), what);
  }

  /** Someone deleted the delay queue: the next retry to it declares it again. */
  forgetDelayQueue(queue: string, bucketMs: number): void {
    this.delayQueues.delete(delayQueueName(queue, bucketMs));
  }

  /** Messages ready in a queue and its consumers, as the broker counts them (a passive declare); zeros when it does not exist. */
  async queueStat(queue: string): Promise<{ messageCount: number; consumerCount: number }> {
    try {
      return await this.serialised(() => this.onChannel(async (ch) => {
        const ok = await ch.checkQueue(queue);
        return { messageCount: ok.messageCount, consumerCount: ok.consumerCount };
      }, `queue '${queue}'`));
    } catch (error) {
      if ((error instanceof TopologyError ? (error.cause as { code?: number } | undefined) : undefined)?.code === 404) return { messageCount: 0, consumerCount: 0 };
      throw error;
    }
  }

  isKnownExchange(exchange: string): boolean {
    return this.knownExchanges.has(exchange);
  }

  /** The broker said the exchange is missing: check (or declare) it again before the next publish. */
  forgetExchange(exchange: string): void {
    this.knownExchanges.delete(exchange);
  }

  /**
   * Before the first publish to an exchange not declared here: a passive check, so a missing
   * exchange is a TopologyError rather than a closed channel. One declared here but deleted
   * since (the broker said 404) is declared again.
   */
  async ensureExchange(exchange: string): Promise<void> {
    if (this.knownExchanges.has(exchange) || !this.connection()) return;
    const spec = this.exchanges.get(exchange);
    try {
      await this.serialised(() =>
        this.onChannel(async (ch) => void (spec ? await declareExchange(ch, spec) : await ch.checkExchange(exchange)), `exchange '${exchange}'`),
      );
      this.knownExchanges.add(exchange);
    } catch (error) {
      const cause = error instanceof TopologyError ? (error.cause as { code?: number } | undefined) : undefined;
      if (cause?.code === 404) {
        throw new TopologyError(`Exchange '${exchange}' does not exist; declare it (bus.start() or publish through the bus) first.`, exchange, { cause: error });
      }
      if (error instanceof TopologyError && !isConnectionLoss(cause)) throw error;
      // Lost the connection while checking: the publish is buffered and resent anyway.
    }
  }

  private serialised<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.serial.then(fn, fn);
    this.serial = run.catch(() => undefined);
    return run;
  }

  private async onChannel<T>(fn: (ch: Channel) => Promise<T>, what: string): Promise<T> {
    const model = this.connection();
    if (!model) throw topologyError(new Error('not connected'), what);
    if (!this.channel) {
      const opening = model.createChannel().then((ch) => {
        ch.on('error', (err: Error) => this.logger.debug(`topology channel closed: ${err.message}`));
        ch.on('handler-error', (err: Error) => this.events.error(err));
        ch.on('close', () => {
          if (this.channel === opening) this.channel = undefined;
        });
        return ch;
      });
      this.channel = opening;
      opening.catch(() => {
        if (this.channel === opening) this.channel = undefined;
      });
    }
    try {
      return await fn(await this.channel);
    } catch (error) {
      throw topologyError(error, what);
    }
  }
}
