// Drizzle (drizzle-orm/neon-serverless) as a user of lazydb: `drizzle(await registry.database.client())`
// inside handler() gets lazydb's Pool, typed from `neon(url, { transport: 'ws' })` with no cast, through
// the local Neon WebSocket gateway. Pins down: create, insert, select, update; a Drizzle transaction that
// commits (invisible outside until then) and one that rolls back, checked through an independent pg
// client; 20 warm invocations on one Pool and one server connection; `client()` as a hold (an idle timeout
// shorter than the invocation does not close the Pool under Drizzle); request scope: a Pool per
// invocation, its server connections gone (pg_stat_activity) once the invocation ends.
// The scenario's steps and their checks are noteScenario's (support.ts); this file gives its Drizzle handlers.
import { describe, expect, it } from 'vitest'
import { count, eq } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/neon-serverless'
import { handler, Registry } from '@lazydb/core'
import { neon } from '@lazydb/core/neon'
import { poll } from '../support/poll.js'
import { requirePostgres, waitForConnectionCount } from '../support/postgres.js'
import {
  connects,
  type Decide,
  drizzlePgNotes,
  figures,
  idleClosingRegistry,
  noteScenario,
  pgReader,
  requestScoped,
  STEP_MS,
  startNeon,
  unique,
  within,
} from './support.js'

const pgUp = await requirePostgres()
const TABLE = unique('orm_drizzle_neon_ws')
const APP = unique('orm-drizzle-ws')
const REQUEST_APP = unique('orm-drizzle-ws-request')
const HOLD_APP = unique('orm-drizzle-ws-hold')
const pgNotes = drizzlePgNotes(TABLE)
const { notes } = pgNotes

const backend = await startNeon()
const registry = new Registry({
  database: neon(backend.url(APP), { transport: 'ws', max: 2, ...backend.ws }),
  warn: false,
})
const scenario = noteScenario(registry, TABLE, pgUp && pgReader, { force: true, close: backend.close })

/** Drizzle on lazydb's Pool, for this invocation. */
const orm = async () => drizzle(await registry.database.client())

const createTable = handler(registry, async () => pgNotes.createTable(await orm()))
const listNotes = handler(registry, async () => pgNotes.list(await orm()))

const setN = handler(registry, async (body: string, n: number) => {
  const db = drizzle(await registry.database.client())
  return db.update(notes).set({ n }).where(eq(notes.body, body)).returning()
})

const addNotes = handler(registry, async (bodies: string[]) => pgNotes.add(await orm(), bodies))
const openTransaction = handler(registry, async (body: string, decide: Decide) =>
  pgNotes.insertThenDecide(await orm(), body, decide),
)

const countNotes = handler(registry, async () => {
  const db = await orm()
  return { count: await pgNotes.count(db), client: db.$client }
})

describe.skipIf(!pgUp)('Drizzle on Neon over WebSocket (drizzle-orm/neon-serverless, the Pool)', () => {
  it('creates a table, inserts, selects and updates inside handler()', async () => {
    await scenario.crud({ createTable, insert: addNotes, select: listNotes, update: setN }, 'row')
  })

  it('commits a Drizzle transaction, and rolls back one that fails, as an independent pg client sees', async () => {
    await scenario.commitsAndRollsBack(addNotes, /duplicate key value violates unique constraint/)
    await scenario.looksOutsideThenDecides(openTransaction)
  })

  it('serves 20 warm invocations from one Pool on one server connection, all gone after disconnect', async () => {
    const { client: pool, ms } = await scenario.warm(5, countNotes)
    const backends = await scenario.reader.backends(APP)
    expect(backends).toBe(1)
    await within(registry.disconnect(), STEP_MS, 'disconnect')
    expect(await within(waitForConnectionCount(0, APP), STEP_MS, 'backends to close')).toBe(0)
    expect(pool.ended).toBe(true)
    figures('drizzle neon-ws warm', { warm20Ms: ms, connects: connects(registry), backendsWarm: backends })
  })

  it('keeps the Pool open under Drizzle for the whole invocation: client() is a hold', async () => {
    const { registry: held, closes } = idleClosingRegistry(backend, HOLD_APP)
    const slowReport = handler(held, async () => {
      const db = drizzle(await held.database.client())
      const first = await db.select({ count: count() }).from(notes)
      await new Promise((resolve) => setTimeout(resolve, 400)) // 4× idleTimeoutMs with no statement
      const second = await db.select({ count: count() }).from(notes)
      return { first, second, closedMeanwhile: [...closes] }
    })
    try {
      const report = await within(slowReport(), STEP_MS, 'slow invocation')
      expect(report).toEqual({ first: [{ count: 5 }], second: [{ count: 5 }], closedMeanwhile: [] })
      // Released at the end: now the idle timeout applies, and the server connection goes.
      expect(await poll(async () => closes.includes('idle'), 2000)).toBe(true)
      expect(await within(waitForConnectionCount(0, HOLD_APP), STEP_MS, 'backends to close')).toBe(0)
    } finally {
      await within(held.disconnect({ force: true }), STEP_MS, 'disconnect')
    }
  })

  it('request scope: a Pool per invocation, closed with its server connections when it ends', async () => {
    await requestScoped('drizzle neon-ws', backend, scenario.reader, REQUEST_APP, async (database) => {
      const db = drizzle(await database.client())
      const [row] = await db.select({ count: count() }).from(notes)
      return { count: row?.count, pool: db.$client }
    })
  })
})
