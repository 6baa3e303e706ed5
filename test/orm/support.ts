// Shared by the ORM suites (test/orm/*.test.ts): deadlines, the local backends each driver reaches
// (Neon gateways, the PlanetScale gateway on a MariaDB user of the suite's own, a temp libSQL file),
// independent readers (pg, mysql2, a second libSQL client) that check what the ORMs committed, and the
// scenario every suite runs (noteScenario): each suite passes its ORM's handlers, the scenario makes the checks.
import { createClient, type Client as LibsqlClient } from '@libsql/client'
import type { Pool } from '@neondatabase/serverless'
import { count, eq, sql } from 'drizzle-orm'
import { integer, type PgDatabase, type PgQueryResultHKT, pgTable, serial, text } from 'drizzle-orm/pg-core'
import type { ColumnType, Generated, Kysely } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, expect } from 'vitest'
import ws from 'ws'
import { type CloseEvent, type Database, handler, Registry } from '@lazydb/core'
import { neon, type NeonOptions } from '@lazydb/core/neon'
import { ensureMariadbUser, MARIADB_CREDENTIALS, mysqlDirect, setupMariadb } from '../support/mariadb.js'
import { startNeonHttpGateway, type NeonHttpGateway } from '../support/neon-http-gateway.js'
import { startNeonWsGateway, type NeonWsGateway } from '../support/neon-ws-gateway.js'
import { startPlanetscaleGateway, type PlanetscaleGateway } from '../support/planetscale-gateway.js'
import { poll } from '../support/poll.js'
import { PG_URL, pgConnectionCount, pgUrlFor, waitForConnectionCount } from '../support/postgres.js'
import { tempDir } from '../support/tmp.js'

/** `promise`, or a rejection naming `what` once `ms` have passed with it still pending: a hang fails fast. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still pending after ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([promise, deadline])
  } finally {
    clearTimeout(timer)
  }
}

/** The error `promise` rejects with; if it resolves instead, a rejection saying so. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await within(promise, STEP_MS, 'expected rejection')
  } catch (error) {
    return error
  }
  throw new Error('expected a rejection, but it resolved')
}

/** The messages of `error` and its `cause` chain, for matching the driver's error inside an ORM's wrapper. */
export function messages(error: unknown): string {
  const found: string[] = []
  for (let e: unknown = error; e instanceof Error && found.length < 8; e = e.cause) found.push(e.message)
  return found.join(' <- ')
}

/** The messages of the error `promise` rejects with (see `messages`). */
export const rejection = async (promise: Promise<unknown>): Promise<string> => messages(await rejectionOf(promise))

/** How long one invocation, one independent check or one teardown step may take before the test fails. */
export const STEP_MS = 5000

/** Table and application names unique to this process, so parallel suites never meet. */
export const unique = (prefix: string) => `${prefix}_${process.pid}`

/**
 * Options without `transport`/`driver`: spread into `neon()`'s options they keep the overload that types
 * `client()` (a value typed as the whole `NeonOptions` would make it `NeonHttpClient | Pool`).
 */
type SocketOptions = Pick<NeonOptions, 'wsProxy' | 'useSecureWebSocket' | 'pipelineConnect' | 'webSocketConstructor'>

/** The Neon gateways and the options lazydb needs to reach them (plain ws://, trust auth). */
export interface NeonBackend {
  /** For `neon(url, …)` over HTTP: the endpoint, plus the WebSocket options its sessions use. */
  http: SocketOptions & Pick<NeonOptions, 'fetchEndpoint'>
  /** For `neon(url, { transport: 'ws', … })`. */
  ws: SocketOptions
  url(applicationName: string): string
  close(): Promise<void>
}

export async function startNeon(): Promise<NeonBackend> {
  const [httpGateway, wsGateway]: [NeonHttpGateway, NeonWsGateway] = await Promise.all([
    startNeonHttpGateway(),
    startNeonWsGateway(),
  ])
  const socket: SocketOptions = {
    wsProxy: wsGateway.wsProxy,
    useSecureWebSocket: false,
    pipelineConnect: false,
    webSocketConstructor: ws,
  }
  return {
    http: { fetchEndpoint: httpGateway.endpoint, ...socket },
    ws: socket,
    url: (applicationName) => pgUrlFor('ep-lazydb-orm.neon.tech', { password: 'not-checked', applicationName }),
    close: async () => {
      await Promise.all([httpGateway.close(), wsGateway.close()])
    },
  }
}

/** A PlanetScale gateway logged in to MariaDB as a user of this suite's own. */
export async function startPlanetscale(user: string): Promise<PlanetscaleGateway> {
  await setupMariadb()
  const password = `${user}-pw-7319`
  await ensureMariadbUser(user, password, [MARIADB_CREDENTIALS.database])
  return startPlanetscaleGateway({
    mysql: { host: '127.0.0.1', port: 3306, user, password, database: MARIADB_CREDENTIALS.database },
  })
}

/** What an independent client sees of a table: its bodies in id order, and one row by body. */
export interface Reader {
  bodies(table: string): Promise<string[]>
  n(table: string, body: string): Promise<number | undefined>
  drop(table: string): Promise<void>
  close(): Promise<void>
}

/** A Reader over `rows` (one statement with string parameters, `placeholder` their first marker). */
function readerOver(
  rows: (text: string, params?: string[]) => Promise<Record<string, unknown>[]>,
  placeholder: '$1' | '?',
  close: () => Promise<void>,
): Reader {
  return {
    bodies: async (table) => (await rows(`select body from ${table} order by id`)).map((r) => String(r.body)),
    n: async (table, body) => {
      const n = (await rows(`select n from ${table} where body = ${placeholder}`, [body]))[0]?.n
      return n === undefined ? undefined : Number(n)
    },
    drop: async (table) => void (await rows(`drop table if exists ${table}`)),
    close,
  }
}

/** A pg client straight to PostgreSQL, outside lazydb and the gateways. */
export async function pgReader(): Promise<Reader & { backends(applicationName: string): Promise<number> }> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 })
  client.on('error', () => {})
  await within(client.connect(), STEP_MS, 'pg reader connect')
  const rows = async (text: string, params: string[] = []) =>
    (await within(client.query(text, params), STEP_MS, `pg reader: ${text}`)).rows
  return {
    ...readerOver(rows, '$1', () => within(client.end(), STEP_MS, 'pg reader end')),
    backends: (applicationName) => within(pgConnectionCount(applicationName), STEP_MS, 'pg_stat_activity'),
  }
}

export type PgReader = Awaited<ReturnType<typeof pgReader>>

/** A mysql2 connection straight to MariaDB, outside the PlanetScale gateway. */
export async function mysqlReader(): Promise<Reader> {
  const conn = await within(mysqlDirect(), STEP_MS, 'mysql2 reader connect')
  const rows = async (text: string, params: string[] = []) =>
    (await within(conn.query(text, params), STEP_MS, `mysql2 reader: ${text}`))[0] as Record<string, unknown>[]
  return readerOver(rows, '?', () => within(conn.end(), STEP_MS, 'mysql2 reader end'))
}

/** A temp SQLite file for lazydb's libSQL database, and a second libSQL client on it. */
export function libsqlFile(): { url: string; reader(): Reader; remove(): void } {
  const dir = tempDir('lazydb-orm-')
  const url = `file:${dir.file('orm.db')}`
  return {
    url,
    reader() {
      const client: LibsqlClient = createClient({ url })
      const rows = async (text: string, args: string[] = []) =>
        (await within(client.execute({ sql: text, args }), STEP_MS, `libsql reader: ${text}`)).rows
      return readerOver(rows, '?', async () => client.close())
    },
    remove: () => dir.remove(),
  }
}

/** `connects` of the default database: driver clients created so far. */
export const connects = (registry: Registry) => registry.stats().databases.default?.connects

/** One line per suite with the figures the report quotes (stdout, visible with --reporter=verbose). */
export function figures(suite: string, values: Record<string, unknown>): void {
  console.info(`[orm figures] ${suite}: ${JSON.stringify(values)}`)
}

/** Called inside an ORM transaction after its insert: looks from outside, then returns (commit) or throws. */
export type Decide = () => Promise<string[]>

/** What update('b', 7) resolves to: the row it returned (`returning`), or the number of rows it changed. */
export type Updated = 'row' | number | bigint

/** The suite's own handlers, each running its ORM inside handler(), for the scenario's steps. */
export interface CrudHandlers<Added extends { id: unknown }> {
  createTable(): Promise<unknown>
  /** Inserts `bodies` and resolves to their rows (or at least their ids), in insertion order. */
  insert(bodies: string[]): Promise<Added[]>
  /** All rows `{ id, body, n }` in id order. */
  select(): Promise<unknown>
  update(body: string, n: number): Promise<unknown>
}

/**
 * The scenario every ORM suite runs on its table of notes (`id`, unique `body`, `n`), checked through an
 * independent client. The suite registers its `it`s and calls the steps with its ORM's handlers; the steps
 * hold the checks. Registers beforeAll (open the reader) and afterAll (disconnect the registry, drop the
 * table, close the reader, then `close`). `openReader` is false when the server is down: the suite is then
 * skipped (describe.skipIf) and nothing opens.
 */
export function noteScenario<R extends Reader>(
  registry: Registry,
  table: string,
  openReader: false | (() => R | Promise<R>),
  options: {
    /** `disconnect({ force: true })` at the end, for a suite that may leave a client in use. */
    force?: boolean
    /** Closed last: the gateways, the temp file. */
    close?(): unknown
  } = {},
) {
  let opened: R | undefined
  beforeAll(async () => {
    if (openReader !== false) opened = await openReader()
  })
  afterAll(async () => {
    const disconnect = options.force === true ? registry.disconnect({ force: true }) : registry.disconnect()
    await within(disconnect, STEP_MS, 'disconnect')
    if (opened !== undefined) {
      await opened.drop(table)
      await opened.close()
    }
    await within(Promise.resolve(options.close?.()), STEP_MS, 'close')
  })
  const reader = (): R => {
    if (opened === undefined) throw new Error('no independent reader: the server is not up')
    return opened
  }
  const bodies = () => reader().bodies(table)

  /** Creates the table inside handler(). */
  async function createTable(create: () => Promise<unknown>): Promise<void> {
    await within(create(), STEP_MS, 'create table')
  }

  /** Inserts 'a' and 'b', selects both (ids as inserted, n 0), sets b's n to 7; the reader sees it all. */
  async function insertSelectUpdate<Added extends { id: unknown }>(
    orm: Omit<CrudHandlers<Added>, 'createTable'>,
    updated: Updated,
  ): Promise<Added[]> {
    const added = await within(orm.insert(['a', 'b']), STEP_MS, 'insert')
    expect(await within(orm.select(), STEP_MS, 'select')).toEqual([
      { id: added[0]!.id, body: 'a', n: 0 },
      { id: added[1]!.id, body: 'b', n: 0 },
    ])
    const update = await within(orm.update('b', 7), STEP_MS, 'update')
    if (updated === 'row') expect(update).toEqual([{ id: added[1]!.id, body: 'b', n: 7 }])
    else expect(update).toBe(updated)
    expect(await bodies()).toEqual(['a', 'b'])
    expect(await reader().n(table, 'b')).toBe(7)
    return added
  }

  return {
    get reader(): R {
      return reader()
    },

    /** What the independent client sees: the bodies, in id order. */
    bodies,

    createTable,
    insertSelectUpdate,

    /** createTable, then insertSelectUpdate. */
    async crud<Added extends { id: unknown }>(orm: CrudHandlers<Added>, updated: Updated): Promise<Added[]> {
      await createTable(orm.createTable)
      return insertSelectUpdate(orm, updated)
    },

    /**
     * `addNotes` inserts its bodies in one transaction: c1 and c2 commit. Then r1 and 'a': 'a' exists, the
     * unique violation (its messages matching `duplicate`) fails the second insert, and the first is rolled
     * back. Resolves to what the commit returned and the violation's error, for the suite's own checks.
     */
    async commitsAndRollsBack<T>(
      addNotes: (bodies: string[]) => Promise<T>,
      duplicate: RegExp,
    ): Promise<{ committed: T; error: unknown }> {
      const committed = await within(addNotes(['c1', 'c2']), STEP_MS, 'committing transaction')
      expect(await bodies()).toEqual(['a', 'b', 'c1', 'c2'])
      const error = await rejectionOf(addNotes(['r1', 'a']))
      expect(messages(error)).toMatch(duplicate)
      expect(await bodies()).toEqual(['a', 'b', 'c1', 'c2'])
      return { committed, error }
    },

    /**
     * `openTransaction` inserts its body in a transaction, then calls `decide`: t1 is not visible outside
     * before the commit and is after it; t2's `decide` throws, which comes back unchanged, and t2 is gone.
     */
    async looksOutsideThenDecides(openTransaction: (body: string, decide: Decide) => Promise<string[]>) {
      const decide =
        (reason?: Error): Decide =>
        async () => {
          const seenOutside = await bodies()
          if (reason !== undefined) throw reason
          return seenOutside
        }
      const seen = await within(openTransaction('t1', decide()), STEP_MS, 'transaction looking outside')
      expect(seen).not.toContain('t1') // not visible before the commit…
      expect(await bodies()).toContain('t1') // …visible after it
      const reason = new Error('changed my mind')
      await expect(within(openTransaction('t2', decide(reason)), STEP_MS, 'rolled back')).rejects.toBe(reason)
      expect(await bodies()).not.toContain('t2')
    },

    /**
     * 20 warm invocations in a row, each raced against a deadline and seeing `count` rows: one client object
     * for all of them, connected once, one cold start. Resolves to that client and the time they took.
     */
    async warm<C>(count: number, countNotes: () => Promise<{ count: unknown; client: C }>) {
      const clients = new Set<C>()
      const started = performance.now()
      for (let i = 0; i < 20; i++) {
        const seen = await within(countNotes(), STEP_MS, `warm invocation ${i + 1}`)
        expect(seen.count).toBe(count)
        clients.add(seen.client)
      }
      const ms = Math.round(performance.now() - started)
      expect(clients.size).toBe(1)
      expect(connects(registry)).toBe(1)
      expect(registry.stats().invocations.cold).toBe(1)
      return { client: [...clients][0]!, ms }
    },
  }
}

/** The table of notes as Kysely sees it; `Id` is `string` on MySQL, where serial comes back as a string. */
export type KyselyNote<Id = number> = { id: Generated<Id>; body: string; n: ColumnType<number, number | undefined> }

/**
 * Kysely's statements on a table of notes with number ids. They are the same for every dialect (only the
 * Kysely that runs them differs), so a suite says which Kysely, per invocation or at module scope, passes it in.
 */
export function kyselyNotes(table: string) {
  type Notes = Kysely<Record<string, KyselyNote>>
  return {
    /** The same table on SQLite (integer autoincrement) and Postgres (serial). */
    createTable: (db: Notes, family: 'sqlite' | 'postgres') =>
      db.schema
        .createTable(table)
        .addColumn('id', family === 'sqlite' ? 'integer' : 'serial', (col) =>
          family === 'sqlite' ? col.primaryKey().autoIncrement() : col.primaryKey(),
        )
        .addColumn('body', 'text', (col) => col.notNull().unique())
        .addColumn('n', 'integer', (col) => col.notNull().defaultTo(0))
        .execute(),
    list: (db: Notes) => db.selectFrom(table).selectAll().orderBy('id').execute(),
    setN: (db: Notes, body: string, n: number) =>
      db.updateTable(table).set({ n }).where('body', '=', body).returningAll().execute(),
    /** Inserts `bodies` one by one in a Kysely transaction, resolving to the rows inserted. */
    add: (db: Notes, bodies: string[]) =>
      db.transaction().execute(async (trx) => {
        const added = []
        for (const body of bodies)
          added.push(await trx.insertInto(table).values({ body }).returningAll().executeTakeFirstOrThrow())
        return added
      }),
    /** In a Kysely transaction: inserts `body`, then `decide` commits (returns) or rolls back (throws). */
    insertThenDecide: (db: Notes, body: string, decide: Decide) =>
      db.transaction().execute(async (trx) => {
        await trx.insertInto(table).values({ body }).execute()
        return decide()
      }),
    /** `count(*)` as the driver returns it (a number from libSQL, a string from Postgres). */
    count: async (db: Notes) =>
      (
        await db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<number | string>().as('count'))
          .executeTakeFirstOrThrow()
      ).count,
  }
}

/**
 * Drizzle's pg-core table of notes and its statements, for both Neon suites: drizzle-orm/neon-http and
 * drizzle-orm/neon-serverless give each a PgDatabase, so the statements are the same (the SQLite and MySQL
 * suites have their own: Drizzle's types differ per dialect).
 */
export function drizzlePgNotes(table: string) {
  type Db = PgDatabase<PgQueryResultHKT>
  const notes = pgTable(table, {
    id: serial('id').primaryKey(),
    body: text('body').notNull().unique(),
    n: integer('n').notNull().default(0),
  })
  return {
    notes,
    createTable: (db: Db) =>
      db.execute(
        sql.raw(`create table ${table} (id serial primary key, body text not null unique, n int not null default 0)`),
      ),
    list: (db: Db) => db.select().from(notes).orderBy(notes.id),
    setN: (db: Db, body: string, n: number) => db.update(notes).set({ n }).where(eq(notes.body, body)).returning(),
    /** Inserts `bodies` one by one in a Drizzle transaction, resolving to the rows inserted. */
    add: (db: Db, bodies: string[]) =>
      db.transaction(async (tx) => {
        const added = []
        for (const body of bodies) added.push(...(await tx.insert(notes).values({ body }).returning()))
        return added
      }),
    /** In a Drizzle transaction: inserts `body`, then `decide` commits (returns) or rolls back (throws). */
    insertThenDecide: (db: Db, body: string, decide: Decide) =>
      db.transaction(async (tx) => {
        await tx.insert(notes).values({ body })
        return decide()
      }),
    count: async (db: Db) => (await db.select({ count: count() }).from(notes))[0]?.count,
  }
}

/** A neon-ws database on `applicationName` that closes its Pool after 100 ms idle; `closes` records why. */
export function idleClosingRegistry(backend: NeonBackend, applicationName: string) {
  const closes: CloseEvent['reason'][] = []
  const registry = new Registry({
    database: neon(backend.url(applicationName), { transport: 'ws', idleTimeoutMs: 100, max: 1, ...backend.ws }),
    on: { close: (event) => void closes.push(event.reason) },
    warn: false,
  })
  return { registry, closes }
}

/**
 * Five invocations on a request-scoped neon-ws database on `applicationName`. `countOn` runs the ORM on the
 * invocation's Pool and counts the rows (5). Each invocation gets a Pool of its own, with one server
 * connection during the invocation and none after it, and the Pool ended; stats show 5 connects, 5 closes.
 */
export async function requestScoped(
  suite: string,
  backend: NeonBackend,
  reader: PgReader,
  applicationName: string,
  countOn: (database: Database<Pool>) => Promise<{ count: unknown; pool: Pool }>,
): Promise<void> {
  const scoped = new Registry({
    database: neon(backend.url(applicationName), { transport: 'ws', scope: 'request', max: 2, ...backend.ws }),
    warn: false,
  })
  const report = handler(scoped, async () => {
    const counted = await countOn(scoped.database)
    return { ...counted, backendsDuring: await reader.backends(applicationName) }
  })
  try {
    const pools = new Set<Pool>()
    const during: number[] = []
    const after: number[] = []
    const started = performance.now()
    for (let i = 0; i < 5; i++) {
      const { count, pool, backendsDuring } = await within(report(), STEP_MS, `request invocation ${i + 1}`)
      expect(count).toBe(5)
      pools.add(pool)
      during.push(backendsDuring)
      after.push(await within(waitForConnectionCount(0, applicationName), STEP_MS, 'backends to close'))
      expect(await poll(async () => pool.ended, 2000)).toBe(true)
    }
    const ms = Math.round(performance.now() - started)
    expect(pools.size).toBe(5)
    expect(during).toEqual([1, 1, 1, 1, 1])
    expect(after).toEqual([0, 0, 0, 0, 0])
    const stats = scoped.stats().databases.default!
    expect([stats.scope, stats.connects, stats.closes]).toEqual(['request', 5, 5])
    figures(`${suite} request scope`, { invocations: 5, ms, during, after, connects: stats.connects })
  } finally {
    await within(scoped.disconnect({ force: true }), STEP_MS, 'disconnect')
  }
}
