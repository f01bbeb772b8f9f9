import { telemetryConformance } from '@tidings/testing/telemetry';
import { InMemoryTransport } from '../../src';

telemetryConformance('InMemoryTransport', () => new InMemoryTransport(), { system: 'tidings_in_memory', connection: {} });
