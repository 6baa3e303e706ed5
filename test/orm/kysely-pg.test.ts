// Kysely's own PostgresDialect over lazydb's pg Pool: `new PostgresDialect({ pool: await
// registry.database.client() })` inside handler(), typed from `pg(url)` with no cast, straight to the real
// PostgreSQL. Pins down create, insert, select, update, and a Kysely transaction that commits (invisible
// outside until then) and one that rolls back, checked through an independent pg client.
import { describe } from 'vitest'
import { it } from 'vitest'
import { Kysely, PostgresDialect } from 'kysely'
import { handler, Registry } from '@lazydb/core'
import { pg } from '@lazydb/core/pg'
import { pgUrlFor, requirePostgres } from '../support/postgres.js'
import { type Decide, type KyselyNote, kyselyNotes, noteScenario, pgReader, unique } from './support.js'

const pgUp = await requirePostgres()
const TABLE = `orm_kysely_pg_${process.pid}` as const
type Tables = Record<typeof TABLE, KyselyNote>
const APP = unique('orm-kysely-pg')

const registry = new Registry({ database: pg(pgUrlFor(undefined, { applicationName: APP }), { max: 2 }), warn: false })
const scenario = noteScenario(registry, TABLE, pgUp && pgReader, { force: true })
const notes = kyselyNotes(TABLE)
const kysely = async () =>
  new Kysely<Tables>({ dialect: new PostgresDialect({ pool: await registry.database.client() }) })

const createTable = handler(registry, async () => notes.createTable(await kysely(), 'postgres'))
const listNotes = handler(registry, async () => notes.list(await kysely()))
const setN = handler(registry, async (body: string, n: number) => notes.setN(await kysely(), body, n))
const addNotes = handler(registry, async (bodies: string[]) => notes.add(await kysely(), bodies))
const openTransaction = handler(registry, async (body: string, decide: Decide) =>
  notes.insertThenDecide(await kysely(), body, decide),
)

describe.skipIf(!pgUp)("Kysely on pg (Kysely's PostgresDialect over lazydb's Pool)", () => {
  it('creates a table, inserts, selects and updates inside handler()', async () => {
    await scenario.crud({ createTable, insert: addNotes, select: listNotes, update: setN }, 'row')
  })

  it('commits a Kysely transaction, and rolls back one that fails, as an independent pg client sees', async () => {
    await scenario.commitsAndRollsBack(addNotes, /duplicate key value violates unique constraint/)
    await scenario.looksOutsideThenDecides(openTransaction)
  })
})
