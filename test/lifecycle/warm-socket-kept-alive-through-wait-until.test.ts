// The keep-alive of a warm socket (InvocationLifecycle.leave → #keepAliveForIdleClose): where the platform
// gives an invocation a waitUntil, lazydb hands it a promise that settles when the warm socket has closed as
// idle, so the instance is not suspended with the socket open. One promise per invocation and open warm
// socket, taken over by the next invocation (the earlier one settles at once); nothing at all — not even
// `undefined` — where no warm socket is open. The registry also has a non-socket database: one warm
// socket among other databases is enough.
import { describe, expect, it } from 'vitest'
import { handler, Registry, type CloseEvent } from '@lazydb/core'
import '@lazydb/core/libsql'
import { requirePostgres } from '../support/postgres.js'
import { poolSuite } from './pool-suite.js'
import { neonWs, terminateLeftovers, uniqueApp } from './pool-support.js'
import { settledWithin, within } from './support.js'

const pgUp = await requirePostgres()
const IDLE_TIMEOUT_MS = 150

describe.skipIf(!pgUp)('a warm socket and the platform waitUntil', () => {
  const suite = poolSuite()

  function setup(label: string) {
    const app = uniqueApp(label)
    const closes: CloseEvent['reason'][] = []
    const registry = new Registry({
      database: neonWs(suite.gateway, app, { max: 1, idleTimeoutMs: IDLE_TIMEOUT_MS }),
      extra: { local: ':memory:' },
      platform: 'node',
      warn: false,
      on: { close: (event) => void closes.push(event.reason) },
    })
    suite.afterTest(async () => {
      await settledWithin(registry.disconnect({ force: true }), 2000)
      await terminateLeftovers(suite.admin, app)
    })
    const handed: unknown[] = []
    const ctx = { waitUntil: (promise: unknown) => void handed.push(promise) }
    const invoke = handler(registry, async (use: boolean, _ctx: typeof ctx) =>
      use ? (await registry.database.query<{ one: number }>('select 1 as one')).rows[0]!.one : 0,
    )
    return { registry, closes, handed, ctx, invoke }
  }

  it('gets one promise per invocation, settled when the socket closes as idle (the last one handed)', async () => {
    const { registry, closes, handed, ctx, invoke } = setup('kept')
    expect(registry.stats().databases.default).toMatchObject({ scope: 'warm' })
    expect(await within(invoke(true, ctx), 3000, 'the first invocation')).toBe(1)
    expect(handed).toHaveLength(1)
    expect(handed[0]).toBeInstanceOf(Promise)
    expect((await settledWithin(handed[0] as Promise<unknown>, 20)).status).toBe('pending') // the socket is open
    expect(await within(invoke(true, ctx), 3000, 'the second invocation')).toBe(1)
    expect(handed).toHaveLength(2)
    expect(handed[1]).toBeInstanceOf(Promise)
    // The second invocation took over: the first promise settled at once, the second waits for the idle close.
    expect((await settledWithin(handed[0] as Promise<unknown>, 20)).status).toBe('fulfilled')
    expect(closes).toEqual([])
    await within(handed[1] as Promise<unknown>, 2000, 'the keep-alive promise')
    expect(closes).toEqual(['idle'])
    expect(registry.database.isConnected).toBe(false)
  })

  it('gets nothing from an invocation while no warm socket is open (before the first connect)', async () => {
    const { handed, ctx, invoke } = setup('none')
    expect(await within(invoke(false, ctx), 3000, 'the invocation')).toBe(0)
    expect(handed).toEqual([])
  })
})
