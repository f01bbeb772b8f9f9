import { silentLogger } from '@tidings/core';
import { transportConformance, uniquePrefix } from '@tidings/testing';
import { AmqpTransport } from '../src';
import { AMQP_URL, closeConnectionsNamed, deleteTopology, requireBroker } from './broker';

describe('AmqpTransport (broker)', function () {
  this.timeout(30_000); // the broker probe may take its 10 s
  before(async function () {
    await requireBroker(this);
  });

  const names = new WeakMap<AmqpTransport, string>();
  transportConformance(
    'AmqpTransport',
    () => {
      const connectionName = uniquePrefix('conn');
      const transport = new AmqpTransport({ url: AMQP_URL, connectionName, logger: silentLogger, reconnect: { initialDelayMs: 50, maxDelayMs: 1000 } });
      names.set(transport, connectionName);
      return transport;
    },
    {
      disrupt: async (transport) => {
        const closed = await closeConnectionsNamed(names.get(transport as AmqpTransport)!);
        if (closed === 0) throw new Error('disrupt: found no broker connection to close');
      },
      cleanup: deleteTopology,
    },
  );
});
