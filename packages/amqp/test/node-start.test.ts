import { expect } from 'chai';
import * as net from 'node:net';
import { expectRejection } from '@tidings/testing';
import { useTestNodes } from './node';

/*
 * The harness's own failure: a node that cannot start must say why, not just that `rabbitmqctl
 * wait` timed out. An Erlang VM that cannot bind its distribution port never writes its pid file.
 */
describe('A test node that cannot start', function () {
  this.timeout(60_000);
  const nodes = useTestNodes();

  it('names the ports it needs when its Erlang VM never comes up (distribution port taken)', async () => {
    const node = await nodes.create('distport');
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(node.distPort, '127.0.0.1', resolve));
    try {
      const error = await expectRejection(node.start(5_000), Error, `node ${node.name} did not start`);
      expect(error.message).to.contain('never wrote');
      expect(error.message).to.contain(`distribution ${node.distPort}`);
      expect(error.message).to.contain(`AMQP ${node.port}`);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });
});
