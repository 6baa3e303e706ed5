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
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SETTLE_AFTER_IDLE_MS } from '../../src/drivers/settle-io.js'
import { startNeonWsGateway, type NeonWsGateway } from '../support/neon-ws-gateway.js'
import { pgConnectionCount, pgUrlFor, requirePostgres, waitForConnectionCount } from '../support/postgres.js'
import { removeBundle, sleep, startFrozenFunction, type ChildReport, type FrozenFunction } from './support.js'

const pgUp = await requirePostgres()
const APP = `lazydb-freeze-${process.pid}`
const wsUrl = (app: string) =>
  `${pgUrlFor('ep-lazydb-test.neon.test', { password: 'not-checked', applicationName: app })}&transport=ws`

interface Outcome {
  failures: { cycle: number; error: ChildReport['error'] }[]
  last: ChildReport
  maxServerConnections: number
  ms: number
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
    return { failures, last, maxServerConnections, ms: performance.now() - t0 }
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
        `retries: ${s.retries}, errors: ${s.errors}, max server connections: ${o.maxServerConnections}`,
    )
  }

  it('100 cycles, each freeze longer than idleTimeoutMs: 0 failed invocations, 0 server connections left', async () => {
    const app = `${APP}-long`
    const IDLE_TIMEOUT_MS = 20
    const fn = await start(app, { LAZYDB_IDLE_TIMEOUT_MS: String(IDLE_TIMEOUT_MS) })
    const o = await cycles(fn, app, 100, async () => {
      await dropped()
      await sleep(IDLE_TIMEOUT_MS + 5)
    })
    print('freeze > idleTimeoutMs', 100, o)
    expect(o.failures).toEqual([])
    // Each thaw finds the connection stale (idle past the timeout; the timers did not run while
    // frozen) and replaces it before use: one new driver client per cycle, no error.
    expect(o.last.stats.databases.default).toMatchObject({ connects: 101, errors: 0 })
    expect(o.last.stats.invocations).toMatchObject({ total: 101, cold: 1 })
    expect(o.maxServerConnections).toBeLessThanOrEqual(1)
    expect(o.last.closes.filter((r) => r !== 'idle' && r !== 'stale')).toEqual([])
    const report = await fn.shutdown()
    expect(report?.error).toBeUndefined()
    expect(await waitForConnectionCount(0, app)).toBe(0)
  })

  it(
    '20 cycles, each freeze longer than idleTimeoutMs with the socket left open: ' + 'the idle check alone replaces it',
    async () => {
      // Nothing drops the socket, so only the idle timeout (not a dead socket) can retire it on thaw.
      const app = `${APP}-open`
      const IDLE_TIMEOUT_MS = 20
      const fn = await start(app, { LAZYDB_IDLE_TIMEOUT_MS: String(IDLE_TIMEOUT_MS) })
      const o = await cycles(fn, app, 20, async () => {
        await sleep(IDLE_TIMEOUT_MS + 10)
      })
      print('freeze > idleTimeoutMs, socket open', 20, o)
      expect(o.failures).toEqual([])
      expect(o.last.stats.databases.default).toMatchObject({ connects: 21, closes: 20, errors: 0 })
      expect(o.last.closes.filter((r) => r !== 'idle' && r !== 'stale')).toEqual([])
      expect(o.maxServerConnections).toBeLessThanOrEqual(1)
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
      expect(o.last.stats.databases.default!.errors).toBe(0)
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
    expect(await waitForConnectionCount(0, `${APP}-short`)).toBe(0)
    expect(await waitForConnectionCount(0, `${APP}-queued`)).toBe(0)
  })
})
