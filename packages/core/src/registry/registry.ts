import { REGISTRY_KEY } from '../constants';
import { ConfigurationError, DuplicateEventError, TidingsError } from '../errors';
import type { EventType } from '../event/event-type';

/** Turns an event of one version into another version's shape (an upcaster or a downcaster). */
export type Caster = (value: object) => object;

/** One registered upcaster or downcaster: from which version to which, and how. */
export interface CasterEntry {
  readonly from: EventType<object>;
  readonly to: EventType<object>;
  readonly fn: Caster;
}

/** A method of a consumer class marked with `@On(...)`. */
export interface HandlerMethodMetadata {
  readonly target: object;
  readonly method: string | symbol;
  readonly events: readonly EventType<object>[];
}

const keyOf = (exchange: string, routingKey: string): string => `${exchange}\u0000${routingKey}`;

/**
 * The one store every decorator writes to. Decorators only record; `check()` looks at the
 * whole picture (duplicates, upcaster chains) and says what to fix. Reached through
 * `getRegistry()`, kept on `globalThis` so that two copies of the library share it.
 */
export class Registry {
  private readonly events: EventType<object>[] = [];
  /** By exchange, then routing key: a delivery's lookup builds no key string. */
  private readonly byExchange = new Map<string, Map<string, EventType<object>>>();
  private readonly byFamily = new Map<string, Map<number, EventType<object>>>();
  private readonly upcasters = new Map<EventType<object>, CasterEntry>();
  private readonly downcasters = new Map<string, CasterEntry>();
  private readonly handlerMethods: HandlerMethodMetadata[] = [];
  private problems: TidingsError[] = [];

  addEvent(event: EventType<object>): void {
    this.events.push(event);
    const claimed = this.eventFor(event.exchange.name, event.routingKey);
    if (claimed && claimed.target !== event.target) {
      this.problems.push(
        new DuplicateEventError(`Routing key '${event.routingKey}' on exchange '${event.exchange.name}'`, claimed.name, event.name),
      );
      return;
    }
    const family = keyOf(event.exchange.name, event.family);
    let versions = this.byFamily.get(family);
    if (!versions) this.byFamily.set(family, (versions = new Map()));
    const sameVersion = versions.get(event.version);
    if (sameVersion && sameVersion !== claimed) {
      this.problems.push(
        new DuplicateEventError(`Event '${event.family}' version ${event.version}`, sameVersion.name, event.name),
      );
      return;
    }
    if (claimed) {
      this.problems.push(
        new DuplicateEventError(`Routing key '${event.routingKey}' on exchange '${event.exchange.name}'`, claimed.name, event.name),
      );
      return;
    }
    let keys = this.byExchange.get(event.exchange.name);
    if (!keys) this.byExchange.set(event.exchange.name, (keys = new Map()));
    keys.set(event.routingKey, event);
    versions.set(event.version, event);
  }

  addUpcaster(from: EventType<object>, to: EventType<object>, fn: Caster): void {
    this.checkCaster('upcastFrom', from, to, to.version - 1, from.version);
    if (this.upcasters.has(to)) {
      throw new ConfigurationError(`${to.name} already has an upcaster; register one function per version step.`);
    }
    this.upcasters.set(to, { from, to, fn });
  }

  addDowncaster(from: EventType<object>, to: EventType<object>, fn: Caster): void {
    this.checkCaster('downcastTo', to, from, to.version, to.version);
    this.downcasters.set(`${from.routingKey}>${to.routingKey}`, { from, to, fn });
  }

  addHandlerMethod(meta: HandlerMethodMetadata): void {
    this.handlerMethods.push(meta);
  }

  /** Every registered event, in the order the classes were defined. */
  allEvents(): readonly EventType<object>[] {
    return this.events;
  }

  /** The event a delivery's exchange and routing key stand for. */
  eventFor(exchange: string, routingKey: string): EventType<object> | undefined {
    return this.byExchange.get(exchange)?.get(routingKey);
  }

  /** Every version of a family on an exchange, by version number. */
  versionsOf(exchange: string, family: string): ReadonlyMap<number, EventType<object>> {
    return this.byFamily.get(keyOf(exchange, family)) ?? new Map();
  }

  /** The upcaster whose result is `to`, if any. */
  upcasterTo(to: EventType<object>): CasterEntry | undefined {
    return this.upcasters.get(to);
  }

  downcaster(from: EventType<object>, to: EventType<object>): Caster | undefined {
    return this.downcasters.get(`${from.routingKey}>${to.routingKey}`)?.fn;
  }

  /**
   * The steps that turn `from` into `to` (empty when they are the same event), or a message
   * naming the missing step.
   */
  upcastPath(from: EventType<object>, to: EventType<object>): CasterEntry[] | string {
    const steps: CasterEntry[] = [];
    let current = to;
    while (current !== from) {
      if (current.version <= from.version) {
        return `${from.name} is newer than ${to.name}: Tidings does not downcast. Update this consumer to handle version ${from.version} (deploy consumers before producers).`;
      }
      const step = this.upcasters.get(current);
      if (!step) {
        const previous = this.versionsOf(current.exchange.name, current.family).get(current.version - 1);
        return `No upcaster from ${previous?.name ?? `version ${current.version - 1}`} to ${current.name}: register ${current.target.name}.${current.member}.upcastFrom(${previous ? `${previous.target.name}.${previous.member}` : '<previous version>'}, (previous) => ...).`;
      }
      steps.unshift(step);
      current = step.from;
    }
    return steps;
  }

  handlerMethodsOf(instance: object): HandlerMethodMetadata[] {
    return this.handlerMethods.filter((m) => m.target === instance || Object.prototype.isPrototypeOf.call(m.target, instance));
  }

  /** Throws the first problem recorded while classes were defined. */
  check(): void {
    if (this.problems.length === 1) throw this.problems[0];
    if (this.problems.length > 1) {
      throw new ConfigurationError(
        `${this.problems.length} problems in event declarations:\n` + this.problems.map((p) => `  - ${p.message}`).join('\n'),
      );
    }
  }

  /** Forgets everything; for tests. Classes defined before this are unknown afterwards. */
  clear(): void {
    this.events.length = 0;
    this.byExchange.clear();
    this.byFamily.clear();
    this.upcasters.clear();
    this.downcasters.clear();
    this.handlerMethods.length = 0;
    this.problems = [];
  }

  private checkCaster(method: string, older: EventType<object>, newer: EventType<object>, expected: number, actual: number): void {
    if (older.family !== newer.family || older.exchange.name !== newer.exchange.name) {
      throw new ConfigurationError(
        `${method}: ${older.name} and ${newer.name} are not versions of one event; both must share exchange, domain and action.`,
      );
    }
    if (older.version !== newer.version - 1 || expected !== actual) {
      throw new ConfigurationError(
        `${method}: ${older.name} → ${newer.name} skips versions; register one step at a time (v${newer.version - 1} → v${newer.version}).`,
      );
    }
  }
}

/** The process-wide registry, shared by every copy of @tidings/core. */
export function getRegistry(): Registry {
  const g = globalThis as unknown as Record<symbol, Registry | undefined>;
  return (g[REGISTRY_KEY] ??= new Registry());
}
