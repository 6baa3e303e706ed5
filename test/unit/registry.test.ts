import { writeFileSync } from 'node:fs'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { LazyDbError, Registry, type QueryEvent, type WarningEvent } from '@lazydb/core'
import { tempDir } from '../support/tmp.js'

const dirs = tempDir('lazydb-registry-')
afterAll(() => dirs.remove())
let n = 0
const fileUrl = () => `file:${dirs.file(`db-${++n}.db`)}`

describe('Registry', () => {
  it('does no I/O at construction: 0 connects until the first query', async () => {
    const connects: string[] = []
    // Unreachable servers: constructing must not touch them.
    const registry = new Registry({
      database: fileUrl(),
      extra: { pg: 'postgres://u:p@127.0.0.1:1/db', my: 'mysql://u:p@127.0.0.1:1/db', remote: 'http://127.0.0.1:1' },
      on: { connect: (e) => connects.push(e.database) },
      warn: false,
    })
    const before = registry.stats()
    expect(Object.values(before.databases).map((d) => d.connects)).toEqual([0, 0, 0, 0])
    expect(registry.database.isConnected).toBe(false)
    await registry.database.query('select 1')
    expect(registry.stats().databases.default!.connects).toBe(1)
    expect(connects).toEqual(['default'])
    await registry.disconnect()
  })

  it('creates exactly one driver client for 100 concurrent first queries', async () => {
    const registry = new Registry({ database: fileUrl(), warn: false })
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => registry.database.query<{ i: number }>('select ? as i', [i])),
    )
    expect(results.map((r) => r.rows[0]!.i)).toEqual(Array.from({ length: 100 }, (_, i) => i))
    expect(registry.stats().databases.default).toMatchObject({ connects: 1, queries: 100 })
    await registry.disconnect()
  })

  it('does not cache a failed connect: the next call tries again', async () => {
    const blocker = dirs.file('blocker')
    writeFileSync(blocker, 'a file where a directory should be')
    const registry = new Registry({ database: `file:${blocker}/app.db`, warn: false })
    const first = await registry.database.query('select 1').catch((e: unknown) => e)
    expect(first).toBeInstanceOf(LazyDbError)
    expect((first as LazyDbError).code).toBe('CONNECT_FAILED')
    const second = await registry.database.query('select 1').catch((e: unknown) => e)
    expect((second as LazyDbError).code).toBe('CONNECT_FAILED')
    expect(registry.stats().databases.default!.connects).toBe(0)
    // The same registry succeeds once the cause is gone: nothing failed was kept.
    const healthy = new Registry({ database: { url: fileUrl() }, warn: false })
    await expect(healthy.database.query('select 1')).resolves.toMatchObject({ rowCount: 1 })
    await healthy.disconnect()
  })

  it('retries a connect that failed once, on the next call', async () => {
    const dir = dirs.file('later')
    writeFileSync(dir, 'not yet a directory')
    const registry = new Registry({ database: `file:${dir}/app.db`, warn: false })
    await expect(registry.database.query('select 1')).rejects.toMatchObject({ code: 'CONNECT_FAILED' })
    const { rmSync } = await import('node:fs')
    rmSync(dir)
    await expect(registry.database.query('select 1 as ok')).resolves.toMatchObject({ rows: [{ ok: 1 }] })
    expect(registry.stats().databases.default!.connects).toBe(1)
    await registry.disconnect()
  })

  it('is reference-counted: connect twice, disconnect once stays connected', async () => {
    const closes: string[] = []
    const registry = new Registry({
      database: fileUrl(),
      extra: { other: fileUrl() },
      on: { close: (e) => closes.push(e.database) },
    })
    await registry.connect()
    await registry.connect()
    expect(registry.database.isConnected && registry.extra.other!.isConnected).toBe(true)
    await registry.disconnect()
    expect(registry.database.isConnected).toBe(true)
    expect(closes).toEqual([])
    await registry.disconnect()
    expect(registry.database.isConnected).toBe(false)
    expect(closes.sort()).toEqual(['default', 'other'])
    expect(registry.stats().databases.default!.closes).toBe(1)
  })

  it('reconnects lazily after disconnect({ force: true })', async () => {
    const registry = new Registry({ database: fileUrl(), warn: false })
    await registry.connect()
    await registry.connect()
    await registry.disconnect({ force: true })
    expect(registry.database.isConnected).toBe(false)
    await expect(registry.database.query('select 1 as x')).resolves.toMatchObject({ rows: [{ x: 1 }] })
    expect(registry.stats().databases.default!.connects).toBe(2)
    await registry.disconnect()
  })

  it('disconnects those that succeeded when one database fails to connect, naming every failed alias', async () => {
    const blocker = dirs.file('blocked-too')
    writeFileSync(blocker, '')
    const registry = new Registry({
      database: fileUrl(),
      extra: { broken: `file:${blocker}/a.db`, alsoBroken: `file:${blocker}/b.db` },
      warn: false,
    })
    const error = (await registry.connect().catch((e: unknown) => e)) as LazyDbError
    expect(error.code).toBe('CONNECT_FAILED')
    expect(error.message).toContain('"broken"')
    expect(error.message).toContain('"alsoBroken"')
    expect(registry.database.isConnected).toBe(false)
    expect(registry.stats().databases.default!.closes).toBe(1)
  })

  it('supports await using (Symbol.asyncDispose)', async () => {
    let outer: Registry
    {
      await using registry = new Registry({ database: fileUrl(), warn: false })
      outer = registry
      await registry.database.query('select 1')
      expect(registry.database.isConnected).toBe(true)
    }
    expect(outer.database.isConnected).toBe(false)
  })

  it('throws UNKNOWN_DATABASE listing the known names', () => {
    const registry = new Registry({ database: ':memory:', extra: { analytics: ':memory:', audit: ':memory:' } })
    const error = (() => {
      try {
        // @ts-expect-error — a name the registry lacks is a type error, and UNKNOWN_DATABASE at run time
        registry.using('nope')
      } catch (e) {
        return e as LazyDbError
      }
    })()!
    expect(error.code).toBe('UNKNOWN_DATABASE')
    expect(error.message).toContain('"default", "analytics", "audit"')
    expect(registry.using('analytics')).toBe(registry.extra.analytics)
    expect(registry.using()).toBe(registry.database)
  })

  it('returns the same cached Registry for equal env values', () => {
    const a = Registry.fromEnv({ DATABASE_URL: ':memory:', DATABASE_URL_ANALYTICS: 'file:.data/a.db', OTHER: 'x' })
    const b = Registry.fromEnv({ OTHER: 'y', DATABASE_URL_ANALYTICS: 'file:.data/a.db', DATABASE_URL: ':memory:' })
    const c = Registry.fromEnv({ DATABASE_URL: ':memory:' })
    expect(a).toBe(b)
    expect(a).not.toBe(c)
    expect(Object.keys(a.extra)).toEqual(['analytics'])
    expect(() => Registry.fromEnv({})).toThrow(/DATABASE_URL is not set/)
  })

  it('reports platform, invocations and per-database stats', async () => {
    // A fresh process as far as lazydb can tell, so the first invocation here is the cold one.
    delete (globalThis as Record<symbol, unknown>)[Symbol.for('lazydb.cold-start-seen')]
    vi.resetModules()
    const fresh = await import('@lazydb/core')
    const registry = new fresh.Registry({
      database: fileUrl(),
      extra: { audit: fileUrl() },
      platform: 'aws-lambda',
      warn: false,
    })
    const none = { connects: 0, closes: 0, queries: 0, errors: 0, retries: 0 }
    expect(registry.stats()).toEqual({
      platform: 'aws-lambda',
      invocations: { total: 0, cold: 0 },
      databases: {
        default: { driver: 'libsql', scope: 'warm', ...none },
        audit: { driver: 'libsql', scope: 'warm', ...none },
      },
    })
    // Per invocation: a query and a two-statement batch on default, a query on audit; the second
    // invocation also runs a failing statement on default.
    const invoke = fresh.handler(registry, async (fail: boolean) => {
      await registry.database.query('select 1')
      await registry.database.batch([{ text: 'select 1' }, { text: 'select 2' }])
      if (fail) await registry.database.query('select * from no_such_table').catch(() => undefined)
      await registry.using('audit').query('select 1')
    })
    await invoke(false)
    await invoke(true)
    await invoke(false)
    expect(registry.stats()).toEqual({
      platform: 'aws-lambda',
      invocations: { total: 3, cold: 1 },
      databases: {
        default: { driver: 'libsql', scope: 'warm', connects: 1, closes: 0, queries: 10, errors: 1, retries: 0 },
        audit: { driver: 'libsql', scope: 'warm', connects: 1, closes: 0, queries: 3, errors: 0, retries: 0 },
      },
    })
    await registry.disconnect()
    expect(registry.stats().databases).toMatchObject({ default: { closes: 1 }, audit: { closes: 1 } })
    // A copy of the stats, not a live view.
    const snapshot = registry.stats()
    await registry.database.query('select 1')
    expect(snapshot.databases.default!.queries).toBe(10)
    await registry.disconnect()
  })
})

describe('hooks', () => {
  it(
    'reports every query (with its error) to on.query and failures to on.error; ' + 'a throwing hook changes nothing',
    async () => {
      const queries: QueryEvent[] = []
      const errors: unknown[] = []
      const registry = new Registry({
        database: fileUrl(),
        warn: false,
        on: {
          query: (e) => {
            queries.push(e)
            throw new Error('a broken hook')
          },
          error: (e) => errors.push(e),
        },
      })
      await expect(registry.database.query('select ? as v', [1])).resolves.toMatchObject({ rows: [{ v: 1 }] })
      const failure = await registry.database.query('select * from missing_table').catch((e: unknown) => e)
      expect(failure).toBeInstanceOf(LazyDbError)
      expect(queries.map((q) => [q.database, q.text, q.error === undefined])).toEqual([
        ['default', 'select ? as v', true],
        ['default', 'select * from missing_table', false],
      ])
      expect(queries.every((q) => q.durationMs >= 0)).toBe(true)
      expect(errors).toEqual([failure])
      expect(registry.stats().databases.default).toMatchObject({ queries: 2, errors: 1 })
      await registry.disconnect()
    },
  )
})

describe('the NOT_CONNECTED warning', () => {
  it('is emitted once per database outside handler and connect(), through on.warning', async () => {
    const warnings: WarningEvent[] = []
    const registry = new Registry({
      database: fileUrl(),
      extra: { other: fileUrl() },
      on: { warning: (w) => warnings.push(w) },
    })
    await registry.database.query('select 1')
    await registry.database.query('select 1')
    await registry.extra.other!.query('select 1')
    expect(warnings.map((w) => [w.code, w.database])).toEqual([
      ['NOT_CONNECTED', 'default'],
      ['NOT_CONNECTED', 'other'],
    ])
    expect(warnings[0]!.message).toMatch(/handler\(registry, fn\)|registry\.connect\(\)/)
    await registry.disconnect()
  })

  it('falls back to console.warn, and warn: false silences it', async () => {
    const spy = vi.spyOn(console, 'warn').mockImplementation(() => undefined)
    try {
      const loud = new Registry({ database: fileUrl() })
      await loud.database.query('select 1')
      expect(spy).toHaveBeenCalledTimes(1)
      expect(String(spy.mock.calls[0]![0])).toContain('NOT_CONNECTED')
      const quiet = new Registry({ database: fileUrl(), warn: false })
      await quiet.database.query('select 1')
      expect(spy).toHaveBeenCalledTimes(1)
      await Promise.all([loud.disconnect(), quiet.disconnect()])
    } finally {
      spy.mockRestore()
    }
  })

  it('is not emitted after registry.connect()', async () => {
    const warnings: WarningEvent[] = []
    const registry = new Registry({ database: fileUrl(), on: { warning: (w) => warnings.push(w) } })
    await registry.connect()
    await registry.database.query('select 1')
    await registry.disconnect()
    expect(warnings).toEqual([])
  })
})
