import type { Counter, Histogram, MeterProvider, ObservableGauge, ObservableResult } from '@opentelemetry/api';
import type { Transport } from '../transport';
import type { Otel } from './otel-api';
import { DURATION_BUCKETS_S, METRIC, TIDINGS_ATTR, TIDINGS_METRIC } from './semconv';

export interface Meters {
  readonly operationDuration: Histogram;
  readonly sent: Counter;
  readonly consumed: Counter;
  readonly processDuration: Histogram;
  readonly retries: Counter;
  readonly deadLetters: Counter;
}

/**
 * The bus's instruments, made on the meter provider registered now. The API keeps no proxy for
 * meters, so a provider registered after the bus was created is picked up on the next operation.
 */
export class Instruments {
  private provider: MeterProvider | undefined;
  private meters: Meters | undefined;
  private gauges: { gauge: ObservableGauge; callback: (r: ObservableResult) => void }[] = [];

  constructor(
    private readonly name: string,
    private readonly transport: Transport,
  ) {}

  /** The instruments, or undefined while no meter provider is registered. */
  current(api: Otel): Meters | undefined {
    const provider = api.metrics.getMeterProvider();
    if (provider !== this.provider) {
      this.close();
      this.provider = provider;
      this.meters = this.create(api, provider);
    }
    return this.meters;
  }

  private create(api: Otel, provider: MeterProvider): Meters | undefined {
    const meter = provider.getMeter(this.name);
    if (meter === api.createNoopMeter()) return undefined;
    const duration = { unit: 's', advice: { explicitBucketBoundaries: [...DURATION_BUCKETS_S] } };
    const publishDepth = meter.createObservableGauge(TIDINGS_METRIC.publishBufferDepth, {
      unit: '{message}',
      description: 'Publishes the transport holds: waiting for a connection or for the broker to confirm them.',
    });
    const consumers = meter.createObservableGauge(TIDINGS_METRIC.consumersActive, { unit: '{consumer}', description: 'Active consumers per queue.' });
    const depthCallback = (r: ObservableResult): void => r.observe(this.transport.health().pendingPublishes);
    const consumersCallback = (r: ObservableResult): void => {
      for (const [queue, n] of Object.entries(this.transport.health().consumers)) r.observe(n, { [TIDINGS_ATTR.queue]: queue });
    };
    publishDepth.addCallback(depthCallback);
    consumers.addCallback(consumersCallback);
    this.gauges = [
      { gauge: publishDepth, callback: depthCallback },
      { gauge: consumers, callback: consumersCallback },
    ];
    return {
      operationDuration: meter.createHistogram(METRIC.operationDuration, { ...duration, description: 'Duration of messaging operation initiated by a producer or consumer client.' }),
      sent: meter.createCounter(METRIC.sentMessages, { unit: '{message}', description: 'Number of messages producer attempted to send to the broker.' }),
      consumed: meter.createCounter(METRIC.consumedMessages, { unit: '{message}', description: 'Number of messages that were delivered to the application.' }),
      processDuration: meter.createHistogram(METRIC.processDuration, { ...duration, description: 'Duration of processing operation.' }),
      retries: meter.createCounter(TIDINGS_METRIC.retries, { unit: '{message}', description: 'Deliveries sent back to their queue for a later attempt.' }),
      deadLetters: meter.createCounter(TIDINGS_METRIC.deadLetters, { unit: '{message}', description: 'Deliveries moved to their dead-letter queue, by reason (error.type).' }),
    };
  }

  /** Stops the gauges' callbacks (the bus closed, or another provider replaced this one). */
  close(): void {
    for (const g of this.gauges) g.gauge.removeCallback(g.callback);
    this.gauges = [];
  }
}
