// Drizzle (drizzle-orm/neon-http) as a user of lazydb: `drizzle(await registry.database.client())` inside
// handler() gets the neon() query function, typed from `neon(url)` with no cast, through the local Neon
// HTTP gateway. Pins down: create, insert, select, update; Drizzle's `db.batch` (neon-http has no
// interactive transaction: `db.transaction` throws) committing and rolling back; an interactive
// transaction through lazydb's `transaction()` with Drizzle building the SQL; all checked through an
// independent pg client; 20 warm invocations on the one client lazydb created.
// The scenario's steps and their checks are noteScenario's (support.ts); this file gives its Drizzle handlers.
import { describe, expect, it } from 'vitest'
import { drizzle } from 'drizzle-orm/neon-http'
import { handler, Registry } from '@lazydb/core'
import { neon } from '@lazydb/core/neon'
import { requirePostgres } from '../support/postgres.js'
import {
  connects,
  type Decide,
  drizzlePgNotes,
  figures,
  noteScenario,
  pgReader,
  rejection,
  STEP_MS,
  startNeon,
  unique,
  within,
} from './support.js'

const pgUp = await requirePostgres()
const TABLE = unique('orm_drizzle_neon_http')
const pgNotes = drizzlePgNotes(TABLE)
const { notes } = pgNotes

const backend = await startNeon()
const registry = new Registry({ database: neon(backend.url(unique('orm-drizzle-http')), backend.http), warn: false })
const scenario = noteScenario(registry, TABLE, pgUp && pgReader, { close: backend.close })

/** Drizzle on lazydb's query function, for this invocation. */
const orm = async () => drizzle(await registry.database.client())

const createTable = handler(registry, async () => pgNotes.createTable(await orm()))
const listNotes = handler(registry, async () => pgNotes.list(await orm()))
const setN = handler(registry, async (body: string, n: number) => pgNotes.setN(await orm(), body, n))

const addNotes = handler(registry, async (bodies: string[]) => {
  const db = drizzle(await registry.database.client())
  const [first, ...rest] = bodies.map((body) => db.insert(notes).values({ body }).returning())
  return (await db.batch([first!, ...rest])).flat()
})

const addNote = handler(registry, async (body: string) => {
  const db = drizzle(await registry.database.client())
  await registry.database.transaction(async (tx) => {
    const insert = db.insert(notes).values({ body }).toSQL()
    await tx.query(insert.sql, insert.params)
  })
})

/** The same, then `decide` looks from outside and commits (returns) or rolls back (throws). */
const openTransaction = handler(registry, async (body: string, decide: Decide) => {
  const db = drizzle(await registry.database.client())
  return registry.database.transaction(async (tx) => {
    const insert = db.insert(notes).values({ body }).toSQL()
    await tx.query(insert.sql, insert.params)
    return decide()
  })
})

const drizzleTransaction = handler(registry, async () =>
  (await orm()).transaction(async (tx) => tx.select().from(notes)),
)

const countNotes = handler(registry, async () => {
  const db = await orm()
  return { count: await pgNotes.count(db), client: db.$client }
})

describe.skipIf(!pgUp)('Drizzle on Neon over HTTP (drizzle-orm/neon-http)', () => {
  it('creates a table, inserts, selects and updates inside handler()', async () => {
    await scenario.crud({ createTable, insert: addNotes, select: listNotes, update: setN }, 'row')
  })

  it('commits a Drizzle batch, and rolls back one that fails, as an independent pg client sees', async () => {
    // The unique violation fails the batch, and Neon rolls back the insert before it.
    const batch = await scenario.commitsAndRollsBack(addNotes, /duplicate key value violates unique constraint/)
    expect(batch.committed.map((row) => row.body)).toEqual(['c1', 'c2'])
  })

  it('has no Drizzle interactive transaction; lazydb transaction() runs Drizzle-built SQL in one', async () => {
    expect(await rejection(drizzleTransaction())).toMatch(/No transactions support in neon-http driver/)
    await within(addNote('t0'), STEP_MS, 'committing transaction')
    expect(await scenario.bodies()).toContain('t0')
    await scenario.looksOutsideThenDecides(openTransaction)
  })

  it('serves 20 warm invocations from the one client it connected', async () => {
    const { ms } = await scenario.warm(6, countNotes) // 5 and t0
    figures('drizzle neon-http', { warm20Ms: ms, connects: connects(registry) })
  })
})
