// A socket client learns that the far side closed only when that I/O is read. After a pause (a
// freeze, a quiet spell) the close may be waiting unread, and a statement handed over at once would
// go into the dead socket; letting received I/O run first makes the client see it.

/** How long a socket client must have been idle before a statement first lets pending I/O run. */
export const SETTLE_AFTER_IDLE_MS = 50

/** One turn of the event loop, after the I/O already received. */
export const nextTurn: () => Promise<void> =
  typeof setImmediate === 'function'
    ? () => new Promise((resolve) => setImmediate(resolve))
    : () => new Promise((resolve) => setTimeout(resolve, 0))

/**
 * Two turns: one to read the peer's FIN (a close that arrived during a freeze), one for the socket to
 * close once its own FIN is out, which is when the client's socket state says so.
 */
export const settleIo = (): Promise<void> => nextTurn().then(nextTurn)
