import { expect } from 'chai';
import { Wake } from '../src/relay/wake';

/** Runs every pending promise callback (setImmediate comes after the microtask queue). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('Wake (how a relay waits for NOTIFY)', () => {
  it('keeps a wake that came while nothing waited, so the next wait returns at once', async () => {
    const wake = new Wake();
    wake.wake();
    let done = false;
    void wake.wait(3_600_000).then(() => (done = true));
    await settle();
    expect(done).to.equal(true);
  });

  it('releases a waiting loop on wake, and spends the wake on it', async () => {
    const wake = new Wake();
    const outcomes: string[] = [];
    void wake.wait(3_600_000).then(() => outcomes.push('first'));
    wake.wake();
    await settle();
    void wake.wait(3_600_000).then(() => outcomes.push('second'));
    await settle();
    expect(outcomes, 'the second wait has no wake to use').to.deep.equal(['first']);
    wake.wake();
    await settle();
    expect(outcomes).to.deep.equal(['first', 'second']);
  });
});
