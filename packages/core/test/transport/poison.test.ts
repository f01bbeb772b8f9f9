import { poisonConformance } from '@tidings/testing';
import { InMemoryTransport } from '../../src';

// the corpus published with publishRaw on the transport the bus consumes from
poisonConformance('InMemoryTransport', () => new InMemoryTransport());
