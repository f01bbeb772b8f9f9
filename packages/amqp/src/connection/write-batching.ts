import type { ChannelModel } from 'amqplib';

/** The amqplib internals this reaches: the connection's frame multiplexer and its socket. */
interface Internals {
  readonly connection?: {
    readonly stream?: { cork?: () => void; uncork?: () => void };
    readonly muxer?: { _readIncoming?: () => void };
  };
}

/**
 * Makes one socket write of each round of frames amqplib sends. amqplib's multiplexer writes the
 * frames its channels queued since the last round one `socket.write` at a time, and each goes to
 * the kernel as a system call of its own; corked for the round, they go as one `writev`: the same
 * bytes, in the same order, in the same tick. Heartbeats are written outside the rounds and are
 * not held. While corked, a round's bytes count toward the socket's buffer, so a large round
 * meets the socket's back-pressure (and amqplib waits for 'drain') sooner than it would one write
 * at a time.
 * Returns whether it applied (an amqplib whose internals differ is left as it is).
 */
export function batchWrites(model: ChannelModel): boolean {
  const { connection } = model as unknown as Internals;
  const socket = connection?.stream;
  const muxer = connection?.muxer;
  const round = muxer?._readIncoming;
  if (!socket || !muxer || typeof round !== 'function' || typeof socket.cork !== 'function' || typeof socket.uncork !== 'function') return false;
  muxer._readIncoming = function corked(this: unknown) {
    socket.cork!();
    try {
      round.call(muxer);
    } finally {
      socket.uncork!();
    }
  };
  return true;
}
