import { expect } from 'chai';
import * as net from 'node:net';
import { canListen, ephemeralRange, freePort, rangeOutside } from '../ports';

describe('test node ports', () => {
  it('reads the kernel ephemeral range, and falls back to the Linux default', () => {
    expect(ephemeralRange(() => '32768\t60999\n')).to.deep.equal([32768, 60999]);
    expect(ephemeralRange(() => '1024 65535')).to.deep.equal([1024, 65535]);
    expect(ephemeralRange(() => 'garbage')).to.deep.equal([32768, 60999]);
    expect(
      ephemeralRange(() => {
        throw new Error('ENOENT');
      }),
    ).to.deep.equal([32768, 60999]);
  });

  it('takes the wider stretch outside the ephemeral range, and says what to do when there is none', () => {
    expect(rangeOutside([32768, 60999])).to.deep.equal([10000, 32767]);
    expect(rangeOutside([10000, 40000])).to.deep.equal([40001, 65535]);
    expect(() => rangeOutside([1024, 65535])).to.throw(/no room for test ports outside the ephemeral range 1024-65535: narrow it in \/proc\/sys\/net\/ipv4\/ip_local_port_range/);
  });

  it('hands out distinct ports outside the ephemeral range that can be listened on', async () => {
    const [low, high] = ephemeralRange();
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    expect(new Set(ports).size, `distinct: ${ports.join(', ')}`).to.equal(ports.length);
    for (const port of ports) {
      expect(port < low || port > high, `${port} is outside ${low}-${high}`).to.equal(true);
      expect(await canListen(port), `${port} can be listened on`).to.equal(true);
    }
  });

  it('sees a port that is taken as taken', async () => {
    const port = await freePort();
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    try {
      expect(await canListen(port)).to.equal(false);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(await canListen(port)).to.equal(true);
  });
});
