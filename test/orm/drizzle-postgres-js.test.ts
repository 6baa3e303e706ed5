// Drizzle (drizzle-orm/postgres-js) as a user of lazydb: `drizzle(await registry.database.client())` inside
// handler() gets lazydb's postgres.js `sql`, typed from `postgres(url)` with no cast, against the real local
// PostgreSQL. Pins down: create, insert, select, update; a Drizzle transaction that commits (invisible
// outside until then) and one that rolls back, checked through an independent pg client; 20 warm invocations
// on one `sql` and one server connection; what Drizzle changes on the shared `sql` (its date parsers); and
// Kysely through the suite's LazyDbDialect (no postgres.js dialect is installed), its transactions lazydb's.
import { count, eq } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/postgres-js'
import { Kysely } from 'kysely'
import type { Sql } from 'postgres'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { handler, Registry } from '@lazydb/core'
import { postgres } from '@lazydb/core/postgres'
import { pgUrlFor, requirePostgres, waitForConnectionCount } from '../support/postgres.js'
import { LazyDbDialect } from './kysely-lazydb-dialect.js'
import {
  connects,
  type Decide,
  drizzlePgNotes,
  figures,
  type KyselyNote,
  kyselyNotes,
  noteScenario,
  pgReader,
  STEP_MS,
  unique,
  within,
} from './support.js'

const pgUp = await requirePostgres()
const TABLE = unique('orm_drizzle_pgjs')
const KYSELY_TABLE = `orm_kysely_pgjs_${process.pid}` as const
const APP = unique('orm-drizzle-pgjs')
const KYSELY_APP = unique('orm-kysely-pgjs')
const pgNotes = drizzlePgNotes(TABLE)
const { notes } = pgNotes

const registry = new Registry({ database: postgres(pgUrlFor(undefined, { applicationName: APP })), warn: false })
const scenario = noteScenario(registry, TABLE, pgUp && pgReader, { force: true })

/** Drizzle on lazydb's postgres.js `sql`, for this invocation. */
const orm = async () => drizzle(await registry.database.client())

const createTable = handler(registry, async () => pgNotes.createTable(await orm()))
const listNotes = handler(registry, async () => pgNotes.list(await orm()))
const setN = handler(registry, async (body: string, n: number) => pgNotes.setN(await orm(), body, n))
const addNotes = handler(registry, async (bodies: string[]) => pgNotes.add(await orm(), bodies))
const openTransaction = handler(registry, async (body: string, decide: Decide) =>
  pgNotes.insertThenDecide(await orm(), body, decide),
)
const countNotes = handler(registry, async () => {
  const db = await orm()
  return { count: await pgNotes.count(db), client: db.$client }
})

describe.skipIf(!pgUp)('Drizzle on postgres.js (drizzle-orm/postgres-js, the sql pool)', () => {
  it('types client() as postgres.js Sql, so drizzle() takes it with no cast', async () => {
    expectTypeOf(await registry.database.client()).toEqualTypeOf<Sql>()
    const db = await orm()
    expectTypeOf(db.$client).toEqualTypeOf<Sql>()
  })

  it('creates a table, inserts, selects and updates inside handler()', async () => {
    await scenario.crud({ createTable, insert: addNotes, select: listNotes, update: setN }, 'row')
  })

  it('commits a Drizzle transaction, and rolls back one that fails, as an independent pg client sees', async () => {
    await scenario.commitsAndRollsBack(addNotes, /duplicate key value violates unique constraint/)
    await scenario.looksOutsideThenDecides(openTransaction)
  })

  it('serves 20 warm invocations from one sql on one server connection, all gone after disconnect', async () => {
    const { client: sql, ms } = await scenario.warm(5, countNotes)
    expect(await scenario.reader.backends(APP)).toBe(1)
    // Drizzle reads dates itself: it sets postgres.js's parsers for date types to pass text through, on the
    // shared sql, so lazydb's own statements on it see timestamptz as text too once drizzle() has run.
    const { rows } = await registry.database.query<{ ts: unknown }>("select '2024-01-02T03:04:05Z'::timestamptz as ts")
    expect(typeof rows[0]!.ts).toBe('string')
    await within(registry.disconnect(), STEP_MS, 'disconnect')
    expect(await within(waitForConnectionCount(0, APP), STEP_MS, 'backends to close')).toBe(0)
    await expect(sql`select 1`).rejects.toMatchObject({ code: 'CONNECTION_ENDED' })
    figures('drizzle postgres-js warm', { warm20Ms: ms, connects: connects(registry) })
  })

  it('runs Drizzle updates with eq() and count() on the reconnected registry', async () => {
    const changed = await handler(registry, async () => {
      const db = await orm()
      await db.update(notes).set({ n: 9 }).where(eq(notes.body, 'a'))
      return (await db.select({ count: count() }).from(notes).where(eq(notes.n, 9)))[0]?.count
    })()
    expect(changed).toBe(1)
    expect(await scenario.reader.n(TABLE, 'a')).toBe(9)
  })
})

describe.skipIf(!pgUp)('Kysely on the postgres driver through LazyDbDialect', () => {
  type Tables = Record<typeof KYSELY_TABLE, KyselyNote>
  const kyselyRegistry = new Registry({
    database: postgres(pgUrlFor(undefined, { applicationName: KYSELY_APP })),
    warn: false,
  })
  const kyselyScenario = noteScenario(kyselyRegistry, KYSELY_TABLE, pgUp && pgReader, { force: true })
  const kNotes = kyselyNotes(KYSELY_TABLE)
  const kysely = new Kysely<Tables>({ dialect: new LazyDbDialect(kyselyRegistry.database) })

  it('creates, inserts, selects, updates; commits and rolls back Kysely transactions', async () => {
    const run = <A extends unknown[], R>(fn: (...args: A) => Promise<R>) => handler(kyselyRegistry, fn)
    await kyselyScenario.crud(
      {
        createTable: run(() => kNotes.createTable(kysely, 'postgres')),
        insert: run((bodies: string[]) => kNotes.add(kysely, bodies)),
        select: run(() => kNotes.list(kysely)),
        update: run((body: string, n: number) => kNotes.setN(kysely, body, n)),
      },
      'row',
    )
    await kyselyScenario.commitsAndRollsBack(
      run((bodies: string[]) => kNotes.add(kysely, bodies)),
      /duplicate key value violates unique constraint/,
    )
    await kyselyScenario.looksOutsideThenDecides(
      run((body: string, decide: Decide) => kNotes.insertThenDecide(kysely, body, decide)),
    )
  })
})
