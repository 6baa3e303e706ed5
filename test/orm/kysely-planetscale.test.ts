// Kysely on PlanetScale as a user of lazydb. kysely-planetscale builds an @planetscale/database Client of its
// own from a config, so lazydb's client() object is never used and lazydb sees none of its work. The suite's
// LazyDbDialect (kysely-lazydb-dialect.ts) runs Kysely over lazydb's query()/transaction() instead: one
// Kysely instance at module scope, no client to hand over. Pins down, through the local PlanetScale gateway
// to MariaDB: create, insert, select, update; a Kysely transaction that commits (invisible outside until
// then) and one that rolls back, checked through an independent mysql2 connection; lazydb counting every
// statement; a transaction left open rolled back when the invocation ends (kysely-planetscale leaves it
// open); 20 warm invocations on one Client.
// The scenario's steps and their checks are noteScenario's (support.ts); this file gives its Kysely handlers.
import { describe, expect, it } from 'vitest'
import { Kysely, sql } from 'kysely'
import { PlanetScaleDialect } from 'kysely-planetscale'
import { handler, LazyDbError, Registry } from '@lazydb/core'
import { planetscale } from '@lazydb/core/planetscale'
import { requireMariadb } from '../support/mariadb.js'
import { LazyDbDialect } from './kysely-lazydb-dialect.js'
import {
  connects,
  type Decide,
  figures,
  type KyselyNote,
  mysqlReader,
  noteScenario,
  STEP_MS,
  startPlanetscale,
  within,
} from './support.js'

const mariadbUp = await requireMariadb()
const TABLE = `orm_kysely_ps_${process.pid}` as const
type Tables = Record<typeof TABLE, KyselyNote<string>> // MySQL's serial comes back as a string

const gateway = mariadbUp ? await startPlanetscale('lazydb_orm') : undefined
const registry = new Registry({ database: planetscale(gateway?.url() ?? 'http://unused@127.0.0.1:9'), warn: false })
const scenario = noteScenario(registry, TABLE, mariadbUp && mysqlReader, { close: () => gateway?.close() })

const db = new Kysely<Tables>({ dialect: new LazyDbDialect(registry.database) })

const createTable = handler(registry, async () => {
  await db.schema
    .createTable(TABLE)
    .addColumn('id', 'serial', (col) => col.primaryKey())
    .addColumn('body', 'varchar(100)', (col) => col.notNull().unique())
    .addColumn('n', 'integer', (col) => col.notNull().defaultTo(0))
    .execute()
})

const listNotes = handler(registry, async () => {
  return db.selectFrom(TABLE).selectAll().orderBy('id').execute()
})

const setN = handler(registry, async (body: string, n: number) => {
  const { numUpdatedRows } = await db.updateTable(TABLE).set({ n }).where('body', '=', body).executeTakeFirst()
  return numUpdatedRows
})

const addNotes = handler(registry, async (bodies: string[]) => {
  return db.transaction().execute(async (trx) => {
    const ids = []
    for (const body of bodies) ids.push((await trx.insertInto(TABLE).values({ body }).executeTakeFirst()).insertId)
    return ids
  })
})

/** A Kysely transaction that inserts `body`, then lets `decide` look from outside and commit or throw. */
const openTransaction = handler(registry, async (body: string, decide: Decide) => {
  return db.transaction().execute(async (trx) => {
    await trx.insertInto(TABLE).values({ body }).execute()
    return decide()
  })
})

/** Starts a transaction, inserts, and returns without committing it. */
const forgetToCommit = handler(registry, async (kysely: Kysely<Tables>, body: string) => {
  const trx = await kysely.startTransaction().execute()
  await trx.insertInto(TABLE).values({ body }).execute()
  return trx
})

/** The count, and lazydb's Client (which LazyDbDialect never touches) to show one served every invocation. */
const countNotes = handler(registry, async () => {
  const row = await db.selectFrom(TABLE).select(sql<string>`count(*)`.as('count')).executeTakeFirstOrThrow()
  return { count: Number(row.count), client: await registry.database.client() }
})

describe.skipIf(!mariadbUp)('Kysely on PlanetScale (LazyDbDialect over lazydb query()/transaction())', () => {
  it('creates a table, inserts, selects and updates inside handler(); lazydb counts each statement', async () => {
    await scenario.createTable(createTable)
    const queriesBefore = registry.stats().databases.default!.queries
    const insert = async (bodies: string[]) => (await addNotes(bodies)).map((id) => ({ id: String(id) }))
    await scenario.insertSelectUpdate({ insert, select: listNotes, update: setN }, 1n)
    expect(registry.stats().databases.default!.queries - queriesBefore).toBe(4) // 2 inserts, select, update
  })

  it('commits a Kysely transaction, and rolls back one that fails, as an independent mysql2 client sees', async () => {
    const { error } = await scenario.commitsAndRollsBack(addNotes, /Duplicate entry 'a'/)
    // Through lazydb, Kysely's error is a LazyDbError with the server's errno and SQLSTATE.
    expect(error).toBeInstanceOf(LazyDbError)
    expect(error).toMatchObject({ code: 'QUERY_FAILED', errno: 1062, sqlState: '23000' })
    expect((error as Error).message).toMatch(/Duplicate entry 'a'/)
    await scenario.looksOutsideThenDecides(openTransaction)
    expect(gateway!.pinnedSessions()).toBe(0)
  })

  it('rolls back a transaction left open when the invocation ends; kysely-planetscale leaves it open', async () => {
    await within(forgetToCommit(db, 'left-open'), STEP_MS, 'invocation leaving a transaction open')
    expect(gateway!.pinnedSessions()).toBe(0)
    expect(await scenario.bodies()).not.toContain('left-open')

    // kysely-planetscale from the same Client config: its session stays in the transaction after the
    // invocation, holding the row lock and a server connection, until someone rolls it back.
    const config = (await within(handler(registry, () => registry.database.client())(), STEP_MS, 'client')).config
    const own = new Kysely<Tables>({ dialect: new PlanetScaleDialect(config) })
    const queriesBefore = registry.stats().databases.default!.queries
    const trx = await within(forgetToCommit(own, 'left-open-2'), STEP_MS, 'kysely-planetscale invocation')
    expect(registry.stats().databases.default!.queries).toBe(queriesBefore) // lazydb saw none of it
    expect(gateway!.pinnedSessions()).toBe(1)
    await within(trx.rollback().execute(), STEP_MS, 'rollback by hand')
    expect(gateway!.pinnedSessions()).toBe(0)
    expect(await scenario.bodies()).not.toContain('left-open-2')
  })

  it('serves 20 warm invocations from the one client it connected', async () => {
    gateway!.resetCounters()
    const queriesBefore = registry.stats().databases.default!.queries
    const { ms } = await scenario.warm(5, countNotes)
    expect(registry.stats().databases.default!.queries - queriesBefore).toBe(20)
    expect(gateway!.roundTrips).toBe(20)
    figures('kysely planetscale (LazyDbDialect)', { warm20Ms: ms, connects: connects(registry) })
  })
})
