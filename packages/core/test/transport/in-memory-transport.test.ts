import { transportConformance } from '@tidings/testing';
import { InMemoryTransport } from '../../src';

transportConformance('InMemoryTransport', () => new InMemoryTransport(), {
  disrupt: async (transport) => (transport as InMemoryTransport).simulateConnectionLoss(),
});
