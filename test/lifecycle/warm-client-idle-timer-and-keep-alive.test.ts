// A WarmClient's idle timer and keep-alive, driven directly under fake timers with a fake client
// (no inUse, as libSQL over ws): idle time counts from the end of the last lease (statement or hold),
// a leased client is never idle or stale, a timer that finds recent use waits only the rest of the
// timeout, exactly idleTimeoutMs idle is still fresh for a use and due for the timer, an HTTP client
// has no timer, a retire leaves no timer and no cache entry, a timer left after a retire does nothing,
// a platform whose setTimeout returns a number (Workers) still connects, and idleClosed() hands the
// latest invocation a promise that settles on the close (the previous one settling at once).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { DriverClient } from '../../src/drivers/contract.js'
import { WarmClient } from '../../src/warm-client.js'
import { deferred, fakeClient, flush, recordingCloser, stateOf } from './slot-support.js'

const IDLE_MS = 100
let n = 0

async function warm(socket = true) {
  const { calls, closer } = recordingCloser()
  const slot = new WarmClient(`warm-client-test-${process.pid}-${++n}`, socket, IDLE_MS, closer)
  const client = fakeClient()
  await slot.connect(async () => client)
  return { slot, client, calls }
}

/** The process-wide cache's entry for `key` (the cache is reached through a global symbol). */
function cached(key: string): unknown {
  const cache = (globalThis as Record<symbol, { get(key: string): unknown } | undefined>)[
    Symbol.for('lazydb.warm-clients@4')
  ]
  return cache?.get(key)
}

describe('the idle timer of a WarmClient', () => {
  beforeEach(() => void vi.useFakeTimers({ now: 1_000_000 }))
  afterEach(() => void vi.useRealTimers())

  it('after a use within the timeout, closes as idle the rest of the timeout later, not a full one', async () => {
    const { slot, client, calls } = await warm()
    await vi.advanceTimersByTimeAsync(60)
    slot.take('statement')
    slot.release('statement')
    await vi.advanceTimersByTimeAsync(40) // the first timer: idle for 40 ms only
    expect(slot.retired).toBe(false)
    await vi.advanceTimersByTimeAsync(60) // 100 ms after the use
    expect(slot.retired).toBe(true)
    await flush()
    expect(calls).toEqual([{ client, reason: 'idle', force: false }])
  })

  it('exactly idleTimeoutMs after the last use: still fresh for a use, and due for the timer', async () => {
    const a = await warm()
    vi.setSystemTime(Date.now() + IDLE_MS)
    expect(a.slot.isFresh(a.client)).toBe(true)
    vi.setSystemTime(Date.now() + 1)
    expect(a.slot.isFresh(a.client)).toBe(false)

    const b = await warm()
    expect(vi.getTimerCount()).toBeGreaterThanOrEqual(1)
    vi.advanceTimersToNextTimer() // a's timer (armed first), then b's
    vi.advanceTimersToNextTimer()
    expect(b.slot.retired, 'the timer that fired at exactly idleTimeoutMs did not retire').toBe(true)
  })

  it('a statement or a hold longer than the timeout keeps the client, fresh; idle time starts at its end', async () => {
    for (const kind of ['statement', 'hold'] as const) {
      const { slot, client, calls } = await warm()
      slot.take(kind)
      await vi.advanceTimersByTimeAsync(3 * IDLE_MS)
      expect(slot.retired, `retired under a ${kind}`).toBe(false)
      expect(slot.isFresh(client), `stale under a ${kind}`).toBe(true)
      slot.release(kind)
      expect(slot.isFresh(client), `stale right after a ${kind} ended`).toBe(true)
      await vi.advanceTimersByTimeAsync(IDLE_MS - 1)
      expect(slot.retired, `retired before idleTimeoutMs after a ${kind} ended`).toBe(false)
      await vi.advanceTimersByTimeAsync(1)
      expect(slot.retired).toBe(true)
      await flush()
      expect(calls).toEqual([{ client, reason: 'idle', force: false }])
    }
  })

  it('an HTTP (non-socket) client has no idle timer and is never idle-closed', async () => {
    const { slot, calls } = await warm(false)
    expect(vi.getTimerCount()).toBe(0)
    await vi.advanceTimersByTimeAsync(10 * IDLE_MS)
    expect(slot.retired).toBe(false)
    expect(calls).toEqual([])
  })

  it('a retire leaves no idle timer pending and no entry in the process-wide cache', async () => {
    const { slot } = await warm()
    // Put it in the cache as DatabaseRuntime does.
    const { warmClientFor } = await import('../../src/warm-cache.js')
    expect(warmClientFor(slot.key, () => slot)).toBe(slot)
    expect(cached(slot.key)).toBe(slot)
    expect(vi.getTimerCount()).toBe(1)
    await slot.retire('disconnect')
    expect(vi.getTimerCount()).toBe(0)
    expect(cached(slot.key), 'a retired client is still held by the process-wide cache').toBeUndefined()
  })

  it('a timer armed by a connect that finished after a retire does nothing when it fires', async () => {
    const { calls, closer } = recordingCloser()
    const slot = new WarmClient(`warm-client-test-${process.pid}-${++n}`, true, IDLE_MS, closer)
    const open = deferred<DriverClient>()
    const client = fakeClient()
    slot.take('statement')
    const connecting = slot.connect(() => open.promise)
    const retired = slot.retire('disconnect')
    open.resolve(client)
    await connecting
    slot.release('statement')
    await retired
    expect(calls).toEqual([{ client, reason: 'disconnect', force: false }])
    await vi.advanceTimersByTimeAsync(3 * IDLE_MS) // throws here if the timer touches the closed client
    expect(calls).toHaveLength(1)
  })

  it('idleClosed(): only for a connected socket; each call settles the previous, the close the last', async () => {
    expect((await warm(false)).slot.idleClosed(), 'an HTTP client').toBeUndefined()
    const { calls, closer } = recordingCloser()
    const unconnected = new WarmClient(`warm-client-test-${process.pid}-${++n}`, true, IDLE_MS, closer)
    expect(unconnected.idleClosed(), 'a socket not connected').toBeUndefined()
    expect(calls).toEqual([])

    const { slot } = await warm()
    const first = slot.idleClosed()
    expect(first).toBeInstanceOf(Promise)
    expect(await stateOf(first!)).toBe('pending')
    const second = slot.idleClosed()
    expect(second).toBeInstanceOf(Promise)
    expect(await stateOf(first!), 'the promise of the earlier invocation').toBe('fulfilled')
    expect(await stateOf(second!)).toBe('pending')
    await vi.advanceTimersByTimeAsync(IDLE_MS)
    expect(slot.retired).toBe(true)
    expect(await stateOf(second!), 'the idle close did not settle the keep-alive').toBe('fulfilled')
    expect(slot.idleClosed(), 'a retired client').toBeUndefined()
  })
})

describe('a WarmClient on a platform whose setTimeout returns a number', () => {
  afterEach(() => void vi.unstubAllGlobals())

  it('connects and arms its idle timer without unref', async () => {
    const realSetTimeout = globalThis.setTimeout
    const numeric = (fn: () => void, ms?: number) => Number(realSetTimeout(fn, ms))
    vi.stubGlobal('setTimeout', numeric)
    const { slot, client } = await warm()
    expect(slot.client).toBe(client)
    await slot.retire('disconnect')
    expect(slot.client).toBeUndefined()
  })
})
