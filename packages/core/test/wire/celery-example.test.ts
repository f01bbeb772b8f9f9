import { expect } from 'chai';
import { RecordingLogger } from '@tidings/testing';
import { InMemoryTransport } from '../../src';
import { main } from '../../examples/celery';

describe('The Celery example of docs/coming-from-python.md', () => {
  it('reads v1 as a Celery task and v2 in Tidings format on one queue, and warns of the v2 a Python pattern binding would delete', async () => {
    const logger = new RecordingLogger();
    expect(await main(new InMemoryTransport(), logger)).to.deep.equal(['v1 task-1: order 1 in EUR', 'v2 event-2: order 2 in USD']);
    expect(logger.find('warn', "PyOrderV2.submit (order.v2.submit) travels in Tidings' format")).to.have.length(2);
  });
});
