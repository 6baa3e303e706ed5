import { afterAll, describe, expect, it, vi } from 'vitest'
import { handler, LazyDbError, Registry, type WarningEvent } from '@lazydb/core'
import { tempDir } from '../support/tmp.js'

const dirs = tempDir('lazydb-handler-')
afterAll(() => dirs.remove())
let n = 0
const fileUrl = () => `file:${dirs.file(`h-${++n}.db`)}`

describe('handler', () => {
  it("returns fn's value and passes the arguments and this through", async () => {
    const registry = new Registry({ database: fileUrl() })
    const fn = handler(registry, async function (this: unknown, a: number, b: string) {
      const { rows } = await registry.database.sql<{ v: number }>`select ${a} * 2 as v`
      return { v: rows[0]!.v, b, self: this }
    })
    const self = { marker: true }
    await expect(fn.call(self, 21, 'x')).resolves.toEqual({ v: 42, b: 'x', self })
    await registry.disconnect()
  })

  it("rethrows fn's own error object unchanged", async () => {
    const registry = new Registry({ database: fileUrl() })
    const mine = Object.assign(new TypeError('boom'), { extra: 1 })
    const fn = handler(registry, async () => {
      await registry.database.query('select 1')
      throw mine
    })
    const caught = await fn().catch((e: unknown) => e)
    expect(caught).toBe(mine)
    const sync = handler(registry, () => {
      throw mine
    })
    expect(await sync().catch((e: unknown) => e)).toBe(mine)
    await registry.disconnect()
  })

  it('counts the first invocation in the process as cold and emits no NOT_CONNECTED inside', async () => {
    // A fresh process as far as lazydb can tell (no flag on globalThis, a freshly evaluated module):
    // another test's registry in this worker may have had the cold start already.
    delete (globalThis as Record<symbol, unknown>)[Symbol.for('lazydb.cold-start-seen')]
    vi.resetModules()
    const fresh = await import('@lazydb/core')
    const warnings: WarningEvent[] = []
    const registry = new fresh.Registry({ database: fileUrl(), on: { warning: (w) => warnings.push(w) } })
    const fn = fresh.handler(registry, async () => (await registry.database.query('select 1 as one')).rows[0])
    expect(await fn()).toEqual({ one: 1 })
    expect(registry.stats().invocations).toEqual({ total: 1, cold: 1 })
    for (let i = 0; i < 4; i++) await fn()
    const stats = registry.stats()
    // The first was cold; the four after it were warm.
    expect(stats.invocations).toEqual({ total: 5, cold: 1 })
    expect(stats.databases.default).toMatchObject({ connects: 1, queries: 5 })
    expect(warnings).toEqual([])
    await registry.disconnect()
  })

  it('counts exactly one cold invocation per process, across registries and copies of the module', async () => {
    // A fresh process as far as lazydb can tell: no flag on globalThis, a freshly evaluated module.
    delete (globalThis as Record<symbol, unknown>)[Symbol.for('lazydb.cold-start-seen')]
    vi.resetModules()
    const fresh = await import('@lazydb/core')
    const a = new fresh.Registry({ database: fileUrl() })
    const b = new fresh.Registry({ database: fileUrl() })
    const viaA = fresh.handler(a, async () => (await a.database.query('select 1')).rowCount)
    const viaB = fresh.handler(b, async () => (await b.database.query('select 1')).rowCount)
    await Promise.all([viaA(), viaA(), viaB()])
    await viaB()
    expect(a.stats().invocations).toEqual({ total: 2, cold: 1 })
    expect(b.stats().invocations).toEqual({ total: 2, cold: 0 })
    // A second copy of lazydb in the same process (another bundle) does not count a cold start again.
    vi.resetModules()
    const copy = await import('@lazydb/core')
    const c = new copy.Registry({ database: fileUrl() })
    await copy.handler(c, async () => undefined)()
    expect(c.stats().invocations).toEqual({ total: 1, cold: 0 })
    await Promise.all([a.disconnect(), b.disconnect(), c.disconnect()])
  })

  it('accepts a registry factory called with the invocation arguments', async () => {
    const seen: unknown[] = []
    const fn = handler(
      (req: string, env: Record<string, string>) => {
        seen.push(req)
        return Registry.fromEnv(env)
      },
      async (req: string, _env: Record<string, string>) =>
        `${req}:${(await Registry.fromEnv({ DATABASE_URL: ':memory:' }).database.query('select 7 as x')).rows[0]!.x}`,
    )
    expect(await fn('a', { DATABASE_URL: ':memory:' })).toBe('a:7')
    expect(await fn('b', { DATABASE_URL: ':memory:' })).toBe('b:7')
    expect(seen).toEqual(['a', 'b'])
    const wrong = handler(
      () => 'not a registry' as never,
      async () => 1,
    )
    await expect(wrong()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
  })

  it('connects before fn with eager: true', async () => {
    const registry = new Registry({ database: fileUrl() })
    const fn = handler(registry, async () => registry.database.isConnected, { eager: true })
    expect(await fn()).toBe(true)
    await registry.disconnect()
  })

  it('closes request-scoped clients when the invocation ends, one client per invocation', async () => {
    const registry = new Registry({ database: { url: fileUrl(), scope: 'request' } })
    const fn = handler(registry, async () => {
      await registry.database.query('select 1')
      await registry.database.query('select 2')
      return registry.database.isConnected
    })
    expect(await fn()).toBe(true)
    expect(await fn()).toBe(true)
    expect(registry.database.isConnected).toBe(false)
    expect(registry.stats().databases.default).toMatchObject({ scope: 'request', connects: 2, closes: 2, queries: 4 })
  })

  it('keeps concurrent invocations on separate request-scoped clients', async () => {
    const registry = new Registry({ database: { url: fileUrl(), scope: 'request' } })
    const fn = handler(registry, async (ms: number) => {
      await registry.database.query('select 1')
      await new Promise((resolve) => setTimeout(resolve, ms))
      await registry.database.query('select 2')
    })
    await Promise.all([fn(30), fn(10), fn(20)])
    expect(registry.stats().databases.default).toMatchObject({ connects: 3, closes: 3 })
  })

  it('closes request clients through waitUntil when the platform gives one', async () => {
    const registry = new Registry({ database: { url: fileUrl(), scope: 'request' } })
    const deferred: Promise<unknown>[] = []
    const ctx = { waitUntil: (p: Promise<unknown>) => deferred.push(p) }
    const fn = handler(registry, async (_req: unknown, _env: unknown, _ctx: typeof ctx) => {
      await registry.database.query('select 1')
      return registry.stats().databases.default!.closes
    })
    expect(await fn({}, {}, ctx)).toBe(0)
    expect(deferred).toHaveLength(1)
    await Promise.all(deferred)
    expect(registry.stats().databases.default!.closes).toBe(1)
  })

  it('gives each operation its own connection, with a warning, for request scope outside handler', async () => {
    const warnings: WarningEvent[] = []
    const registry = new Registry({
      database: { url: fileUrl(), scope: 'request' },
      on: { warning: (w) => warnings.push(w) },
    })
    await registry.database.query('select 1')
    await registry.database.query('select 1')
    expect(registry.stats().databases.default).toMatchObject({ connects: 2, closes: 2 })
    expect(warnings).toHaveLength(1)
    expect(warnings[0]!.message).toMatch(/every operation opens and closes its own connection/)
  })

  it('does not leak a request client to work that outlives its invocation', async () => {
    const registry = new Registry({ database: { url: fileUrl(), scope: 'request' }, warn: false })
    let late: Promise<unknown> | undefined
    const fn = handler(registry, async () => {
      await registry.database.query('select 1')
      late = new Promise((resolve) => setTimeout(resolve, 50)).then(() => registry.database.query('select 2'))
    })
    await fn()
    await late
    expect(registry.stats().databases.default).toMatchObject({ connects: 2, closes: 2, queries: 2 })
  })

  it('rejects a non-function or a non-registry with INVALID_ARGUMENT', () => {
    const registry = new Registry({ database: ':memory:' })
    expect(() => handler(registry, 'nope' as never)).toThrow(LazyDbError)
    expect(() => handler({} as never, async () => 1)).toThrow(/Registry/)
    expect(() => handler(registry, async () => 1, 5 as never)).toThrow(/options/)
  })
})
