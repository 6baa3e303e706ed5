// Shared by the tests that drive a ClientSlot or a WarmClient directly: a driver client that only
// records its close, a closer that records every close (optionally held open until released), and
// a deferred promise. No server: these pin the lease and close rules themselves.
import type { CloseReason, Closer } from '../../src/client-slot.js'
import type { DriverClient } from '../../src/drivers/contract.js'

export interface Deferred<T> {
  promise: Promise<T>
  resolve: (value: T) => void
  reject: (reason: unknown) => void
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void
  let reject!: (reason: unknown) => void
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)))
  return { promise, resolve, reject }
}

/** A driver client with no `inUse` and no `isAlive` (as libSQL over ws has no `inUse`). */
export function fakeClient(extra: Partial<DriverClient> = {}): DriverClient {
  return {
    raw: null,
    execute: async () => ({}),
    toResult: () => ({ rows: [], rowCount: 0, columns: [] }) as never,
    batch: async () => [],
    begin: async () => {
      throw new Error('fakeClient: no transactions')
    },
    close: async () => undefined,
    ...extra,
  }
}

export interface CloseCall {
  client: DriverClient
  reason: CloseReason
  force: boolean
}

/** A Closer that records each call; with `hold`, each close stays pending until `release()`. */
export function recordingCloser(hold = false) {
  const calls: CloseCall[] = []
  let gate = deferred()
  const closer: Closer = async (client, reason, force) => {
    calls.push({ client, reason, force })
    if (hold) await gate.promise
  }
  const release = () => {
    gate.resolve()
    gate = deferred()
  }
  return { calls, closer, release }
}

/** Lets pending promise reactions run (works under fake timers: no timer involved). */
export async function flush(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve()
}

/** 'fulfilled', 'rejected' or 'pending' after pending reactions have run; never waits on a timer. */
export async function stateOf(promise: Promise<unknown>): Promise<'fulfilled' | 'rejected' | 'pending'> {
  let state: 'fulfilled' | 'rejected' | 'pending' = 'pending'
  promise.then(
    () => (state = 'fulfilled'),
    () => (state = 'rejected'),
  )
  await flush()
  return state
}
