// The stale check on use (WarmClient.isFresh): a warm socket found idle past idleTimeoutMs when a
// statement arrives is replaced before that statement uses it, even though its idle timer has not
// fired. A freeze is what makes this happen: the timer cannot run while the process is stopped, and
// on thaw the next invocation may run before it does. Here the thread is held (Atomics.wait, which
// runs no timer and reads no socket) past the timeout and the invocation starts in the same turn
// the hold ends, so the idle timer cannot have fired first: the close must be 'stale', never 'idle'.
// The socket is left open, so nothing but the idle age can retire the client.
import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { handler, Registry, type CloseEvent, type ConnectEvent, type RetryEvent } from '@lazydb/core'
import { startNeonWsGateway, type NeonWsGateway } from '../support/neon-ws-gateway.js'
import { requirePostgres, waitForConnectionCount } from '../support/postgres.js'
import { adminClient, backendsOf, neonWs, terminateLeftovers, uniqueApp } from './pool-support.js'
import { within } from './support.js'

const pgUp = await requirePostgres()
const IDLE_TIMEOUT_MS = 100

/** Blocks this thread for `ms`: no timer fires and no I/O is read meanwhile, as in a frozen process. */
function holdThread(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

describe.skipIf(!pgUp)('a warm socket idle past idleTimeoutMs when a statement arrives', () => {
  let gateway: NeonWsGateway
  let admin: pg.Client
  const apps: string[] = []

  beforeAll(async () => {
    gateway = await startNeonWsGateway()
    admin = await adminClient()
  })
  afterAll(async () => {
    for (const app of apps) await terminateLeftovers(admin, app)
    await admin?.end()
    await gateway?.close()
  })

  it('is replaced before use (close reason stale), with its idle timer held back', async () => {
    const app = uniqueApp('stale')
    apps.push(app)
    const closes: CloseEvent['reason'][] = []
    const connects: ConnectEvent[] = []
    const retries: RetryEvent[] = []
    const registry = new Registry({
      database: neonWs(gateway, app, { max: 1 }),
      platform: 'aws-lambda',
      idleTimeoutMs: IDLE_TIMEOUT_MS,
      warn: false,
      on: {
        close: (event) => void closes.push(event.reason),
        connect: (event) => void connects.push(event),
        retry: (event) => void retries.push(event),
      },
    })
    const backendPid = handler(registry, async () => {
      const { rows } = await registry.database.query<{ pid: number }>('select pg_backend_pid() as pid')
      return rows[0]!.pid
    })
    try {
      const first = await within(backendPid(), 3000, 'the first invocation')
      expect(registry.database.isConnected).toBe(true)
      expect(closes).toEqual([])

      holdThread(IDLE_TIMEOUT_MS * 3)
      // Same turn as the end of the hold: the idle timer is due but has not run.
      const next = backendPid()
      // The statement went to a new client: the old one was retired on sight, the new one is still connecting.
      expect(registry.database.isConnected).toBe(false)
      const second = await within(next, 3000, 'the invocation after the hold')

      expect(closes).toEqual(['stale'])
      expect(second).not.toBe(first)
      expect(connects).toHaveLength(2)
      expect(retries).toEqual([])
      expect(registry.stats().databases.default).toMatchObject({ connects: 2, closes: 1, errors: 0, retries: 0 })
      // The replaced backend is gone from the server; the new one serves.
      expect(await waitForConnectionCount(1, app)).toBe(1)
      expect((await backendsOf(admin, app)).map((b) => b.pid)).toEqual([second])
    } finally {
      await registry.disconnect()
    }
    expect(await waitForConnectionCount(0, app)).toBe(0)
  })

  it('a warm socket used again within idleTimeoutMs is kept (same server backend, nothing closed)', async () => {
    const app = uniqueApp('fresh')
    apps.push(app)
    const closes: CloseEvent['reason'][] = []
    const registry = new Registry({
      database: neonWs(gateway, app, { max: 1 }),
      platform: 'aws-lambda',
      idleTimeoutMs: 2000,
      warn: false,
      on: { close: (event) => void closes.push(event.reason) },
    })
    const backendPid = handler(registry, async () => {
      const { rows } = await registry.database.query<{ pid: number }>('select pg_backend_pid() as pid')
      return rows[0]!.pid
    })
    try {
      const first = await within(backendPid(), 3000, 'the first invocation')
      holdThread(IDLE_TIMEOUT_MS * 3) // well inside this registry's 2000 ms
      const second = await within(backendPid(), 3000, 'the invocation after the hold')
      expect(second).toBe(first)
      expect(closes).toEqual([])
      expect(registry.stats().databases.default).toMatchObject({ connects: 1, closes: 0 })
    } finally {
      await registry.disconnect()
    }
  })
})
