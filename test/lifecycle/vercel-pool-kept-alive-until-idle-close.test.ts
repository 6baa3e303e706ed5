// Vercel Fluid (many invocations per instance): a warm pg Pool whose idle close comes 5 s after the last
// invocation by default, with the instance kept alive through waitUntil until it has happened (what
// @vercel/functions' attachDatabasePool does), and then no server connection left.
import { describe, expect, it } from 'vitest'
import { handler, Registry } from '@lazydb/core'
import { pg } from '@lazydb/core/pg'
import { pgConnectionCount, pgUrlFor, requirePostgres } from '../support/postgres.js'
import { settledWithin, within } from './support.js'

const pgUp = await requirePostgres()
const APP = `lazydb-vercel-pool-${process.pid}`

describe.skipIf(!pgUp)('Vercel Node: a warm pg Pool at the end of an invocation', () => {
  it('waitUntil holds the instance until the pool closes, 5 s after the last use by default', async () => {
    const registry = new Registry({
      database: pg(pgUrlFor(undefined, { applicationName: APP })),
      platform: 'vercel-node',
    })
    const kept: Promise<unknown>[] = []
    const context = { waitUntil: (promise: Promise<unknown>) => void kept.push(promise) }
    const select = handler(registry, async (_request: object, _context: typeof context) => {
      return (await registry.database.query('select 1 as one')).rows
    })
    try {
      expect(await within(select({}, context), 5000, 'the invocation')).toEqual([{ one: 1 }])
      const ended = performance.now()
      expect(kept.length).toBeGreaterThan(0)
      const closed = kept[kept.length - 1]!
      expect((await settledWithin(closed, 3000)).status).toBe('pending')
      expect(await pgConnectionCount(APP)).toBe(1)
      await within(closed, 4000, 'the idle close')
      expect(performance.now() - ended).toBeGreaterThanOrEqual(4900)
      expect(await pgConnectionCount(APP)).toBe(0)
      expect(registry.stats().databases.default).toMatchObject({ driver: 'pg', scope: 'warm', connects: 1, closes: 1 })
    } finally {
      await registry.disconnect({ force: true })
    }
  })
})
