import type { DeadLetterReason } from '../errors';
import type { ExchangeKind } from '../exchange';

/** AMQP basic properties that Tidings uses; `timestamp` is milliseconds since the epoch. */
export interface MessageProperties {
  readonly messageId: string;
  readonly timestamp: number;
  readonly contentType?: string;
  /**
   * How the body was encoded on top of its content type (`gzip`, `deflate`). Tidings never sets
   * it; a consumer dead-letters a delivery with one other than `utf-8` or `identity`.
   */
  readonly contentEncoding?: string;
  /** The routing key the event was published with. */
  readonly type?: string;
  /** The publishing service's name. */
  readonly appId?: string;
  readonly correlationId?: string;
  readonly headers: Readonly<Record<string, unknown>>;
}

export interface OutgoingMessage {
  readonly exchange: string;
  readonly routingKey: string;
  /** UTF-8 JSON. */
  readonly body: Buffer;
  readonly properties: MessageProperties;
  /** Reject the publish with UnroutableError when no queue receives it. */
  readonly mandatory: boolean;
}

/** A message handed to a consumer. */
export interface Delivery {
  readonly queue: string;
  /** Exchange and routing key of the original publish, also on retried copies. */
  readonly exchange: string;
  readonly routingKey: string;
  readonly body: Buffer;
  readonly properties: MessageProperties;
  /** The broker delivered this copy before without an ack (a consumer died, a connection dropped). */
  readonly redelivered: boolean;
  /** 1 for the first delivery of a publish, n+1 after n delayed retries. */
  readonly attempt: number;
  /** The broker's delivery tag, where there is one (AMQP). */
  readonly deliveryTag?: number;
}

/** What the consumer decided about a delivery; the transport carries it out, then acks. */
export type Disposition =
  | { readonly action: 'ack' }
  /** Deliver again to the same queue after `delayMs`, with attempt + 1. */
  | { readonly action: 'retry'; readonly delayMs: number; readonly error: string }
  /** Move to the queue's dead-letter queue with the reason in headers. */
  | { readonly action: 'dead-letter'; readonly reason: DeadLetterReason; readonly error: string; readonly attempts: number };

export type DeliveryHandler = (delivery: Delivery) => Promise<Disposition>;

export interface ExchangeSpec {
  readonly name: string;
  readonly type: ExchangeKind;
  readonly durable: boolean;
  readonly autoDelete: boolean;
}

export interface BindingSpec {
  readonly exchange: string;
  readonly pattern: string;
}

export type QueueType = 'classic' | 'quorum';

export interface QueueSpec {
  readonly name: string;
  readonly durable: boolean;
  readonly autoDelete: boolean;
  readonly queueType: QueueType;
  readonly bindings: readonly BindingSpec[];
}

/** Exchanges and queues to declare; every transport also declares each queue's dead-letter queue and retry path. */
export interface Topology {
  readonly exchanges: readonly ExchangeSpec[];
  readonly queues: readonly QueueSpec[];
}

export interface ConsumeOptions {
  /** Deliveries handed out before any is settled. */
  readonly prefetch: number;
  /**
   * Told once a delivery's disposition was carried out (or could not be), with the copy a retry or
   * dead letter published. Telemetry's settle spans come from it; a transport may leave it uncalled.
   */
  readonly settled?: SettleListener;
}

/** What a transport reports when it has carried out a disposition. */
export interface SettleReport {
  /** The disposition carried out: a retry the broker refused is reported as the dead letter it became. */
  readonly disposition: Disposition;
  /** Set when the disposition could not be carried out; the delivery returns to its queue. */
  readonly error?: unknown;
  /**
   * The copy a retry or a dead letter published: where to, and when its publish started and was
   * confirmed, as `performance.now()` milliseconds.
   */
  readonly copy?: { readonly exchange: string; readonly routingKey: string; readonly startTime: number; readonly endTime: number };
}

export type SettleListener = (delivery: Delivery, report: SettleReport) => void;

/**
 * What a transport tells telemetry about its connection, as the messaging semantic conventions
 * name it (`messaging.system`, `server.address`, `server.port`, `network.peer.*`).
 */
export interface TransportTelemetry {
  /** `messaging.system`: `rabbitmq` for AMQP. */
  readonly system: string;
  readonly serverAddress?: string;
  readonly serverPort?: number;
  readonly peerAddress?: string;
  readonly peerPort?: number;
}

export interface Consumer {
  readonly queue: string;
  /** Stops new deliveries; deliveries already handed out still settle. */
  cancel(): Promise<void>;
}

export interface TransportHealth {
  readonly connected: boolean;
  /** Active consumers per queue. */
  readonly consumers: Readonly<Record<string, number>>;
  /** Publishes held while disconnected or waiting for a confirm. */
  readonly pendingPublishes: number;
  /**
   * Present while the broker blocks publishing (a memory or disk alarm): the reason it gave, such
   * as `'low on memory'`. Publishes wait in the buffer meanwhile; `connected` stays true.
   */
  readonly blocked?: string;
  /** The broker node the transport is connected to (its URL, credentials redacted). */
  readonly node?: string;
  /**
   * Queues whose consumer has not come back after a lost connection or channel for longer than
   * the transport's grace period (see the `consumer-missing` event). Present only when not empty.
   */
  readonly missingConsumers?: readonly string[];
  /**
   * Delay queues holding retries well past their delay (see the `delay-stalled` event): a broker
   * that does not move expired retries back to their queue. Present only when not empty.
   */
  readonly stalledDelayQueues?: readonly StalledDelayQueue[];
}

/** A delay queue whose retries are overdue: they should have returned to `queue` by now. */
export interface StalledDelayQueue {
  /** The service queue the retries belong to. */
  readonly queue: string;
  /** The delay queue holding them. */
  readonly delayQueue: string;
  /** Retries sent there by this process and not back yet, past their delay plus the grace period. */
  readonly overdue: number;
  /** How far past its delay the oldest of them is, in ms. */
  readonly overdueMs: number;
}

export type TransportEvent =
  | { readonly type: 'connected'; readonly url?: string }
  /** `url`: the node the lost connection was on (credentials redacted). */
  | { readonly type: 'disconnected'; readonly error?: Error; readonly url?: string }
  /** A queue's consumer did not come back within the grace period after a loss; `health().missingConsumers` names it until it does. */
  | { readonly type: 'consumer-missing'; readonly queue: string; readonly sinceMs: number }
  /** The consumer of `queue` is back after `consumer-missing`. */
  | { readonly type: 'consumer-back'; readonly queue: string }
  /** Retries sit in a delay queue well past their delay; `health().stalledDelayQueues` lists it until they return. */
  | ({ readonly type: 'delay-stalled' } & StalledDelayQueue)
  /** The overdue retries of `delayQueue` came back. */
  /** `abandoned`: retries no longer awaited, not back `watch.delayGiveUpMs` after they were due (absent when all came back). */
  | { readonly type: 'delay-recovered'; readonly queue: string; readonly delayQueue: string; readonly abandoned?: number }
  /**
   * `rescued` retries of `queue`, not back from `delayQueue` `overdueMs` after they were due, were
   * sent straight to `queue` by this process (`watch.delayRescueMs`); the broker's late copies are dropped.
   */
  | { readonly type: 'delay-rescued'; readonly queue: string; readonly delayQueue: string; readonly rescued: number; readonly overdueMs: number }
  | { readonly type: 'error'; readonly error: Error }
  /** The broker stopped reading from publishers (a memory or disk alarm); `health().blocked` holds the reason until `unblocked`. */
  | { readonly type: 'blocked'; readonly reason: string }
  | { readonly type: 'unblocked' };

/**
 * What the bus needs from a broker. Small on purpose: the in-memory and AMQP transports pass
 * the same conformance suite (`@tidings/testing`).
 */
export interface Transport {
  /** Connects (idempotent). */
  connect(): Promise<void>;
  /**
   * Declares exchanges, queues, bindings, dead-letter queues and retry paths, idempotently. The bus
   * may call it while `connect()` is still under way (the exchange of a first publish): a transport
   * connects if it must, or declares the exchanges on the connection it is making.
   */
  declare(topology: Topology): Promise<void>;
  /** Resolves once the message is durable (broker confirm); rejects with a TidingsError otherwise. */
  publish(message: OutgoingMessage): Promise<void>;
  /** Hands each delivery to `handler` and carries out the disposition it returns. */
  consume(queue: string, handler: DeliveryHandler, options: ConsumeOptions): Promise<Consumer>;
  /** Waits for outstanding publishes, then closes; unsettled deliveries return to their queue. */
  close(): Promise<void>;
  health(): TransportHealth;
  /** Subscribes to connection events; returns an unsubscribe function. */
  subscribe(listener: (event: TransportEvent) => void): () => void;
  /** The connection as telemetry names it; called per operation while a provider is registered, so keep it cheap. */
  telemetry?(): TransportTelemetry;
}
