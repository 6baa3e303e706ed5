// Freeze/thaw: a warm neon-ws connection (through the local WebSocket gateway to the real
// PostgreSQL) whose far side drops the idle socket while the function is frozen.
//
// The freeze is real, not simulated in-process: the function runs in a child process (the FREEZE
// HARNESS in ./support.ts, one process reused for every cycle) stopped with SIGSTOP and resumed
// with SIGCONT, as Lambda freezes and thaws an execution environment. While stopped it runs no
// timer and reads no socket; the gateway's drop (TCP FIN of the WebSocket) waits in the kernel and
// reaches the function only after the thaw, in the same turn of the event loop as the next
// invocation. An in-process simulation could not reproduce that race (the process would see the
// close at once, and its idle timer would fire during the "freeze"), which is the case that fails
// in practice ("Connection terminated unexpectedly" after a thaw).
//
// Which mechanism replaces the connection is pinned per test, through lazydb's own close reasons
// and counters (not only "no invocation failed"): a thaw can run the next invocation before the
// idle timer or the timer before the invocation, and each order has its own test. With the event
// taken in before the thaw (invokeAcrossFreeze) the stale check on use must do it ('stale'); thawed
// with no event waiting, the timer must ('idle').
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SETTLE_AFTER_IDLE_MS } from '../../src/drivers/settle-io.js'
import { startNeonWsGateway, type NeonWsGateway } from '../support/neon-ws-gateway.js'
import { pgConnectionCount, pgUrlFor, requirePostgres, waitForConnectionCount } from '../support/postgres.js'
import { removeBundle, sleep, startFrozenFunction, type ChildReport, type FrozenFunction } from './support.js'

const pgUp = await requirePostgres()
const APP = `lazydb-freeze-${process.pid}`
const wsUrl = (app: string) =>
  `${pgUrlFor('ep-lazydb-test.neon.tech', { password: 'not-checked', applicationName: app })}&transport=ws`

interface Outcome {
  failures: { cycle: number; error: ChildReport['error'] }[]
  last: ChildReport
  maxServerConnections: number
  ms: number
  /** The longest the child ran idle between two invocations (see ChildReport.gapMs). */
  maxGapMs: number
}

describe.skipIf(!pgUp)('freeze/thaw: the far side drops the idle socket while the function is frozen', () => {
  let gateway: NeonWsGateway
  const started: FrozenFunction[] = []

  beforeAll(async () => {
    gateway = await startNeonWsGateway()
  })
  afterAll(async () => {
    await Promise.all(started.map((fn) => fn.shutdown()))
    await gateway?.close()
    await removeBundle()
  })

  async function start(app: string, env: Record<string, string> = {}): Promise<FrozenFunction> {
    const fn = await startFrozenFunction({ DATABASE_URL: wsUrl(app), NEON_WS_PROXY: gateway.wsProxy, ...env })
    started.push(fn)
    return fn
  }

  /** `cycles` times: freeze, `during` (the far side acts), thaw, invoke. */
  async function cycles(
    fn: FrozenFunction,
    app: string,
    count: number,
    // biome-ignore lint/suspicious/noConfusingVoidType: `during` either queues an event or returns nothing
    during: (fn: FrozenFunction) => Promise<{ queued: Promise<ChildReport> } | void>,
  ): Promise<Outcome> {
    const first = await fn.invoke()
    expect(first.error).toBeUndefined()
    const failures: Outcome['failures'] = []
    let last = first
    let maxServerConnections = 0
    const t0 = performance.now()
    for (let cycle = 0; cycle < count; cycle++) {
      await fn.freeze()
      const queued = await during(fn)
      fn.thaw()
      last = await (queued?.queued ?? fn.invoke())
      if (last.error !== undefined) failures.push({ cycle, error: last.error })
      if (cycle % 10 === 9) maxServerConnections = Math.max(maxServerConnections, await pgConnectionCount(app))
    }
    return { failures, last, maxServerConnections, ms: performance.now() - t0, maxGapMs: 0 }
  }

  async function dropped(): Promise<void> {
    gateway.dropAll()
    while (gateway.openConnections > 0) await sleep(1)
  }

  function print(name: string, count: number, o: Outcome): void {
    const s = o.last.stats.databases.default!
    const reasons: Record<string, number> = {}
    for (const r of o.last.closes) reasons[r] = (reasons[r] ?? 0) + 1
    console.log(
      `[freeze/thaw] ${name}: ${count} cycles in ${(o.ms / 1000).toFixed(1)} s, ` +
        `failed invocations: ${o.failures.length}, ` +
        `driver clients created: ${s.connects}, closed: ${JSON.stringify(reasons)}, ` +
        `retries: ${s.retries}, errors: ${s.errors}, max server connections: ${o.maxServerConnections}` +
        (o.maxGapMs > 0 ? `, longest idle run between invocations: ${o.maxGapMs.toFixed(1)} ms` : '') +
        (o.failures.length === 0 ? '' : `; first failure: ${JSON.stringify(o.failures[0])}`),
    )
  }

  /**
   * `count` invocations, each taken in before a freeze and run on thaw before any timer (see
   * invokeAcrossFreeze); `during` runs while the child is frozen. The next invocation is sent as soon
   * as the last replied (server connections are counted during the freezes), so the child runs idle
   * between two invocations only for an IPC round trip: its idle timer cannot fire then.
   */
  async function acrossFreezes(
    fn: FrozenFunction,
    app: string,
    count: number,
    during: () => Promise<void>,
  ): Promise<Outcome> {
    const first = await fn.invoke()
    expect(first.error).toBeUndefined()
    const failures: Outcome['failures'] = []
    let last = first
    let maxServerConnections = 0
    let maxGapMs = 0
    const t0 = performance.now()
    for (let cycle = 0; cycle < count; cycle++) {
      const frozenFor = sleep(HOLD_MS + 5) // the freeze outlasts the hold
      last = await fn.invokeAcrossFreeze(HOLD_MS, async () => {
        if (cycle % 10 === 9) maxServerConnections = Math.max(maxServerConnections, await pgConnectionCount(app))
        await during()
        await frozenFor
      })
      maxGapMs = Math.max(maxGapMs, last.gapMs ?? 0)
      if (last.error !== undefined) failures.push({ cycle, error: last.error })
    }
    return { failures, last, maxServerConnections, ms: performance.now() - t0, maxGapMs }
  }

  // The idle timeout is 40 ms and each invocation is held 60 ms, across a freeze of at least that:
  // when the invocation runs, the connection is idle past the timeout and its timer is due but has
  // not run. Only the check on use (the stale check) can replace it, so every close must say 'stale'.
  // The premise, checked: between two invocations the child ran idle for less than the timeout.
  const IDLE_TIMEOUT_MS = 40
  const HOLD_MS = 60

  it(
    '30 cycles, each freeze longer than idleTimeoutMs with the socket dropped, the next event taken in before ' +
      'the thaw: the stale check replaces the connection before use every time',
    async () => {
      const app = `${APP}-long`
      const fn = await start(app, { LAZYDB_IDLE_TIMEOUT_MS: String(IDLE_TIMEOUT_MS) })
      const o = await acrossFreezes(fn, app, 30, dropped)
      print('freeze > idleTimeoutMs, event taken in before the thaw', 30, o)
      expect(o.maxGapMs).toBeLessThan(IDLE_TIMEOUT_MS)
      expect(o.failures).toEqual([])
      expect(o.last.closes).toEqual(Array(30).fill('stale'))
      expect(o.last.retries).toEqual([])
      expect(o.last.stats.databases.default).toMatchObject({ connects: 31, closes: 30, errors: 0, retries: 0 })
      expect(o.last.stats.invocations).toMatchObject({ total: 31, cold: 1 })
      expect(o.maxServerConnections).toBeLessThanOrEqual(1)
      const report = await fn.shutdown()
      expect(report?.error).toBeUndefined()
      expect(await waitForConnectionCount(0, app)).toBe(0)
    },
  )

  it(
    '20 cycles, each freeze shorter than idleTimeoutMs (60 s) with the socket dropped, the next event taken in ' +
      'before the thaw: the close that arrived during the freeze is read before the statement goes out',
    async () => {
      const app = `${APP}-short-held`
      const fn = await start(app)
      const o = await acrossFreezes(fn, app, 20, dropped)
      print('freeze < idleTimeoutMs, socket dropped, event taken in before the thaw', 20, o)
      expect(o.failures).toEqual([])
      expect(o.last.stats.databases.default).toMatchObject({ errors: 0, retries: 0 })
      expect(o.maxServerConnections).toBeLessThanOrEqual(1)
      await fn.shutdown()
      expect(await waitForConnectionCount(0, app)).toBe(0)
    },
  )

  it(
    '15 cycles, each freeze longer than idleTimeoutMs with the socket left open, the next event taken in ' +
      'before the thaw: the idle age alone (checked on use) replaces it',
    async () => {
      // Nothing drops the socket, so only its idle age (not a dead socket) can retire it.
      const app = `${APP}-open`
      const fn = await start(app, { LAZYDB_IDLE_TIMEOUT_MS: String(IDLE_TIMEOUT_MS) })
      const o = await acrossFreezes(fn, app, 15, async () => undefined)
      print('freeze > idleTimeoutMs, socket open, event taken in before the thaw', 15, o)
      expect(o.maxGapMs).toBeLessThan(IDLE_TIMEOUT_MS)
      expect(o.failures).toEqual([])
      expect(o.last.closes).toEqual(Array(15).fill('stale'))
      expect(o.last.stats.databases.default).toMatchObject({ connects: 16, closes: 15, errors: 0, retries: 0 })
      expect(o.maxServerConnections).toBeLessThanOrEqual(1)
      await fn.shutdown()
      expect(await waitForConnectionCount(0, app)).toBe(0)
    },
  )

  it(
    '10 cycles, each freeze longer than idleTimeoutMs with the socket left open and no event waiting: ' +
      'the idle timer closes it after the thaw, before the next invocation',
    async () => {
      const app = `${APP}-timer`
      const fn = await start(app, { LAZYDB_IDLE_TIMEOUT_MS: String(IDLE_TIMEOUT_MS) })
      const o = await cycles(fn, app, 10, async (frozen) => {
        await sleep(IDLE_TIMEOUT_MS + 10)
        expect(gateway.openConnections).toBe(1) // frozen: nothing closes it
        frozen.thaw() // thawed here, with no event: the timer, due since the freeze, runs first …
        for (let i = 0; i < 200 && gateway.openConnections > 0; i++) await sleep(5)
        expect(gateway.openConnections).toBe(0) // … and closes the socket with no invocation running
        await frozen.freeze() // cycles() thaws it again and sends the next invocation
      })
      print('freeze > idleTimeoutMs, socket open, thawed with no event', 10, o)
      expect(o.failures).toEqual([])
      expect(o.last.closes).toEqual(Array(10).fill('idle'))
      expect(o.last.stats.databases.default).toMatchObject({ connects: 11, closes: 10, errors: 0, retries: 0 })
      await fn.shutdown()
      expect(await waitForConnectionCount(0, app)).toBe(0)
    },
  )

  it(
    '100 cycles, each freeze shorter than idleTimeoutMs (60 s): ' +
      'the closed socket is found before use, 0 failed invocations',
    async () => {
      const app = `${APP}-short`
      const fn = await start(app)
      const o = await cycles(fn, app, 100, dropped)
      print('freeze < idleTimeoutMs', 100, o)
      expect(o.failures).toEqual([])
      // Found before use: no statement went into the dead socket to be retried, nothing counted as an error,
      // and whatever lazydb replaced it replaced as stale (the Pool replaces a lone dead connection itself).
      expect(o.last.stats.databases.default).toMatchObject({ errors: 0, retries: 0 })
      expect(o.last.closes.filter((r) => r !== 'stale')).toEqual([])
      expect(o.maxServerConnections).toBeLessThanOrEqual(1)
      await fn.shutdown()
      expect(await waitForConnectionCount(0, app)).toBe(0)
    },
  )

  it('50 cycles with the next event already queued when the socket is dropped: 0 failed invocations', async () => {
    // The invocation's message reaches the process before the drop does: on thaw the handler starts
    // first, and the close is read in the same turn of the event loop, after it.
    const app = `${APP}-queued`
    const fn = await start(app)
    const o = await cycles(fn, app, 50, async (frozen) => {
      const queued = frozen.invoke()
      await dropped()
      await sleep(SETTLE_AFTER_IDLE_MS + 10) // a freeze, not a pause between two queries of one request
      return { queued }
    })
    print('event queued before the drop', 50, o)
    expect(o.failures).toEqual([])
    expect(o.last.stats.databases.default!.errors).toBe(0)
    await fn.shutdown()
    expect(await waitForConnectionCount(0, app)).toBe(0)
  })

  it('leaves no connection open at the gateway or the server', async () => {
    await Promise.all(started.map((fn) => fn.shutdown()))
    await expect.poll(() => gateway.openConnections).toBe(0)
    expect(await waitForConnectionCount(0, `${APP}-long`)).toBe(0)
    expect(await waitForConnectionCount(0, `${APP}-open`)).toBe(0)
    expect(await waitForConnectionCount(0, `${APP}-timer`)).toBe(0)
    expect(await waitForConnectionCount(0, `${APP}-short`)).toBe(0)
    expect(await waitForConnectionCount(0, `${APP}-queued`)).toBe(0)
  })
})
