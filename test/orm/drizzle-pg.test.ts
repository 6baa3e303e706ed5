// Drizzle (drizzle-orm/node-postgres) as a user of lazydb: `drizzle(await registry.database.client())`
// inside handler() gets lazydb's pg Pool, typed from `pg(url)` with no cast, straight to the real
// PostgreSQL over TCP. Pins down create, insert, select, update; a Drizzle transaction that commits
// (invisible outside until then) and one that rolls back, checked through an independent pg client; and
// 20 warm invocations on one Pool and one server connection. Steps and checks are noteScenario's.
import { describe, expect, it } from 'vitest'
import { eq } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/node-postgres'
import { handler, Registry } from '@lazydb/core'
import { pg } from '@lazydb/core/pg'
import { pgUrlFor, requirePostgres, waitForConnectionCount } from '../support/postgres.js'
import {
  connects,
  type Decide,
  drizzlePgNotes,
  figures,
  noteScenario,
  pgReader,
  STEP_MS,
  unique,
  within,
} from './support.js'

const pgUp = await requirePostgres()
const TABLE = unique('orm_drizzle_pg')
const APP = unique('orm-drizzle-pg')
const pgNotes = drizzlePgNotes(TABLE)
const { notes } = pgNotes

const registry = new Registry({ database: pg(pgUrlFor(undefined, { applicationName: APP }), { max: 2 }), warn: false })
const scenario = noteScenario(registry, TABLE, pgUp && pgReader, { force: true })
const orm = async () => drizzle(await registry.database.client())

const createTable = handler(registry, async () => pgNotes.createTable(await orm()))
const listNotes = handler(registry, async () => pgNotes.list(await orm()))
const setN = handler(registry, async (body: string, n: number) =>
  (await orm()).update(notes).set({ n }).where(eq(notes.body, body)).returning(),
)
const addNotes = handler(registry, async (bodies: string[]) => pgNotes.add(await orm(), bodies))
const openTransaction = handler(registry, async (body: string, decide: Decide) =>
  pgNotes.insertThenDecide(await orm(), body, decide),
)
const countNotes = handler(registry, async () => {
  const db = await orm()
  return { count: await pgNotes.count(db), client: db.$client }
})

describe.skipIf(!pgUp)('Drizzle on pg (drizzle-orm/node-postgres, the Pool)', () => {
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
    figures('drizzle pg warm', { warm20Ms: ms, connects: connects(registry), backendsWarm: backends })
  })
})
