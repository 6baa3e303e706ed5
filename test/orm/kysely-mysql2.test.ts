// Kysely's own MysqlDialect over lazydb's mysql2 Pool: `new MysqlDialect({ pool: (await
// registry.database.client()).pool })` inside handler() (MysqlDialect takes mysql2's callback pool, which
// the promise Pool lazydb hands out wraps as `.pool`), straight to the real MariaDB as a MariaDB user of
// this suite's own. Pins down: create, insert, select, update; a Kysely transaction that commits (invisible
// outside until then) and one that rolls back, checked through an independent mysql2 connection; 20 warm
// invocations on one Pool and one server connection, none left after disconnect.
// The scenario's steps and their checks are noteScenario's (support.ts); this file gives its Kysely handlers.
import { Kysely, MysqlDialect, sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { handler, Registry } from '@lazydb/core'
import { mysql2 } from '@lazydb/core/mysql2'
import {
  ensureMariadbUser,
  MARIADB_CREDENTIALS,
  mariadbConnectionCount,
  requireMariadb,
  setupMariadb,
} from '../support/mariadb.js'
import { poll } from '../support/poll.js'
import {
  connects,
  type Decide,
  figures,
  type KyselyNote,
  mysqlReader,
  noteScenario,
  STEP_MS,
  within,
} from './support.js'

const mariadbUp = await requireMariadb()
const TABLE = `orm_kysely_mysql2_${process.pid}` as const
type Tables = Record<typeof TABLE, KyselyNote<string>> // BIGINT UNSIGNED (serial): a string
const USER = 'lazydb_orm_kysely_mysql2'
const PASSWORD = 'orm-kysely-my2-pw-8830'

if (mariadbUp) {
  await setupMariadb()
  await ensureMariadbUser(USER, PASSWORD, [MARIADB_CREDENTIALS.database])
}
const url = `mysql://${USER}:${PASSWORD}@127.0.0.1:3306/${MARIADB_CREDENTIALS.database}`
const registry = new Registry({ database: mysql2(url, { max: 2 }), warn: false, platform: 'node' })
const scenario = noteScenario(registry, TABLE, mariadbUp && mysqlReader)

/** Kysely's MysqlDialect on lazydb's Pool, for this invocation (never destroyed: the Pool is lazydb's). */
const kysely = async () =>
  new Kysely<Tables>({ dialect: new MysqlDialect({ pool: (await registry.database.client()).pool }) })

const createTable = handler(registry, async () => {
  await (await kysely()).schema
    .createTable(TABLE)
    .addColumn('id', 'serial', (col) => col.primaryKey())
    .addColumn('body', 'varchar(100)', (col) => col.notNull().unique())
    .addColumn('n', 'integer', (col) => col.notNull().defaultTo(0))
    .execute()
})

const listNotes = handler(registry, async () => (await kysely()).selectFrom(TABLE).selectAll().orderBy('id').execute())

const setN = handler(registry, async (body: string, n: number) => {
  const db = await kysely()
  return (await db.updateTable(TABLE).set({ n }).where('body', '=', body).executeTakeFirst()).numUpdatedRows
})

const addNotes = handler(registry, async (bodies: string[]) => {
  return (await kysely()).transaction().execute(async (trx) => {
    const ids = []
    for (const body of bodies) ids.push((await trx.insertInto(TABLE).values({ body }).executeTakeFirst()).insertId)
    return ids
  })
})

/** A Kysely transaction that inserts `body`, then lets `decide` look from outside and commit or throw. */
const openTransaction = handler(registry, async (body: string, decide: Decide) => {
  return (await kysely()).transaction().execute(async (trx) => {
    await trx.insertInto(TABLE).values({ body }).execute()
    return decide()
  })
})

const countNotes = handler(registry, async () => {
  const pool = await registry.database.client()
  const db = new Kysely<Tables>({ dialect: new MysqlDialect({ pool: pool.pool }) })
  const row = await db.selectFrom(TABLE).select(sql<string>`count(*)`.as('count')).executeTakeFirstOrThrow()
  return { count: Number(row.count), client: pool }
})

describe.skipIf(!mariadbUp)("Kysely on mysql2 (Kysely's MysqlDialect over lazydb's Pool)", () => {
  it('creates a table, inserts, selects and updates inside handler()', async () => {
    await scenario.createTable(createTable)
    // BIGINT UNSIGNED ids (serial) come back as strings: lazydb's mysql2 default is bigNumberStrings
    const insert = async (bodies: string[]) => (await addNotes(bodies)).map((id) => ({ id: String(id) }))
    await scenario.insertSelectUpdate({ insert, select: listNotes, update: setN }, 1n)
  })

  it('commits a Kysely transaction, and rolls back one that fails, as an independent mysql2 client sees', async () => {
    await scenario.commitsAndRollsBack(addNotes, /Duplicate entry 'a'/)
    await scenario.looksOutsideThenDecides(openTransaction)
  })

  it('serves 20 warm invocations from one Pool on one server connection, none left after disconnect', async () => {
    const { ms } = await scenario.warm(5, countNotes)
    const serverConnections = await mariadbConnectionCount(USER)
    expect(serverConnections).toBe(1)
    await within(registry.disconnect(), STEP_MS, 'disconnect')
    expect(await poll(async () => (await mariadbConnectionCount(USER)) === 0)).toBe(true)
    figures('kysely mysql2 warm', { warm20Ms: ms, connects: connects(registry), serverConnections })
  })
})
