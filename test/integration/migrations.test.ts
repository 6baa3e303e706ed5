// Migrations (@lazydb/core/migrate, the lazydb CLI) against the real servers: PostgreSQL through the
// Neon WebSocket gateway, MariaDB through the PlanetScale gateway, and a libSQL file. The race: 20
// child processes started at once against the same empty database each apply the 5-file set.
import { type ChildProcess, execFile, fork, spawn } from 'node:child_process'
import { cpSync, existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { build } from 'esbuild'
import mysql from 'mysql2/promise'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LazyDbError, Registry } from '@lazydb/core'
import { libsql } from '@lazydb/core/libsql'
import { migrate, migrationStatus, type MigrationProgress, type MigrationState } from '@lazydb/core/migrate'
import { neon } from '@lazydb/core/neon'
import { planetscale } from '@lazydb/core/planetscale'
import { MARIADB_CREDENTIALS, MARIADB_SOCKET, requireMariadb, setupMariadb } from '../support/mariadb.js'
import { startNeonHttpGateway, type NeonHttpGateway } from '../support/neon-http-gateway.js'
import { startNeonWsGateway, type NeonWsGateway } from '../support/neon-ws-gateway.js'
import { startPlanetscaleGateway, type PlanetscaleGateway } from '../support/planetscale-gateway.js'
import { PG_URL as PG_DIRECT, pgAdmin, pgUrlFor, requirePostgres } from '../support/postgres.js'
import { tempDir } from '../support/tmp.js'

const pgUp = await requirePostgres()
const myUp = await requireMariadb()

const root = fileURLToPath(new URL('../..', import.meta.url))
const FIVE = `${root}test/fixtures/migrations/five`
const FILES = [
  '0001_create_users.sql',
  '0002_create_notes.sql',
  '0003_seed.sql',
  '0004_add_name.sql',
  '0005_backfill.sql',
]
const PID = process.pid
const PG_URL = pgUrlFor('ep-lazydb-test.neon.tech', { password: 'pw', applicationName: `lazydb-migrations-${PID}` })

type Kind = 'libsql' | 'neon-ws' | 'planetscale' | 'pg' | 'postgres' | 'mysql2'
/** Kinds on Postgres, and on MySQL through a session (GET_LOCK), as the runner's dialects split them. */
const POSTGRES_KINDS: Kind[] = ['neon-ws', 'pg', 'postgres']
interface Target {
  kind: Kind
  url: string
  schema?: string
  wsProxy?: string
}
interface ChildReply {
  ready?: boolean
  result?: { applied: string[]; skipped: string[] }
  history?: MigrationState[]
  error?: { code?: string; message: string }
}

let work: ReturnType<typeof tempDir>
let childScript: string
let neonGw: NeonWsGateway | undefined
let neonHttpGw: NeonHttpGateway | undefined
let psGw: PlanetscaleGateway | undefined
const cleanups: Array<() => Promise<void>> = []
let fresh = 0

beforeAll(async () => {
  work = tempDir('lazydb-migrations-')
  // The child bundle keeps packages external: a node_modules link beside it lets Node find them.
  symlinkSync(`${root}node_modules`, work.file('node_modules'))
  childScript = work.file('race-child.mjs')
  const alias: Record<string, string> = {
    '@lazydb/core': `${root}src/index.ts`,
    '@lazydb/core/migrate': `${root}src/migrate/index.ts`,
  }
  for (const sub of ['neon', 'planetscale', 'libsql', 'pg', 'postgres', 'mysql2'])
    alias[`@lazydb/core/${sub}`] = `${root}src/drivers/${sub}/index.ts`
  await build({
    entryPoints: [`${root}test/fixtures/migrations/race-child.ts`],
    outfile: childScript,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    alias,
    logLevel: 'error',
  })
  if (pgUp) [neonGw, neonHttpGw] = await Promise.all([startNeonWsGateway(), startNeonHttpGateway()])
  if (myUp) psGw = await startPlanetscaleGateway()
})

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined)
  await Promise.all([neonGw?.close(), neonHttpGw?.close(), psGw?.close()])
  work?.remove()
})

async function mariadbRoot(): Promise<mysql.Connection> {
  return mysql.createConnection({
    socketPath: MARIADB_SOCKET,
    user: 'root',
    authPlugins: { unix_socket: () => () => Buffer.alloc(0) },
  })
}

/** An empty database of each kind: a Postgres schema, a MariaDB database, a libSQL file. */
async function freshTarget(kind: Kind): Promise<Target> {
  const name = `lazydb_mig_${PID}_${++fresh}`
  if (kind === 'libsql') return { kind, url: `file:${work.file(`${name}.db`)}` }
  if (POSTGRES_KINDS.includes(kind)) {
    await pgAdmin(`create schema ${name}`)
    cleanups.push(() => pgAdmin(`drop schema if exists ${name} cascade`))
    if (kind !== 'neon-ws') return { kind, url: PG_DIRECT, schema: name }
    return { kind, url: PG_URL, schema: name, wsProxy: neonGw!.wsProxy }
  }
  await setupMariadb()
  const rootConn = await mariadbRoot()
  try {
    await rootConn.query(`CREATE DATABASE \`${name}\``)
    for (const host of ['127.0.0.1', 'localhost']) {
      await rootConn.query(`GRANT ALL PRIVILEGES ON \`${name}\`.* TO ?@?`, [MARIADB_CREDENTIALS.user, host])
    }
  } finally {
    await rootConn.end()
  }
  cleanups.push(async () => {
    const c = await mariadbRoot()
    await c.query(`DROP DATABASE IF EXISTS \`${name}\``).finally(() => c.end())
  })
  if (kind === 'mysql2') {
    const { user, password, host, port } = MARIADB_CREDENTIALS
    return { kind, url: `mysql://${user}:${password}@${host}:${port}/${name}`, schema: name }
  }
  return { kind, url: psGw!.url(), schema: name }
}

/** The same database in this process (the gateway's settings for Neon), as a Registry. */
function registryFor(target: Target, extra?: Record<string, string>): Registry {
  const database =
    target.kind === 'pg' || target.kind === 'postgres' || target.kind === 'mysql2'
      ? { url: target.url, driver: target.kind }
      : target.kind === 'libsql'
        ? libsql(target.url)
        : target.kind === 'planetscale'
          ? planetscale(target.url)
          : neon(target.url, {
              transport: 'ws',
              wsProxy: target.wsProxy!,
              useSecureWebSocket: false,
              pipelineConnect: false,
            })
  const extras = Object.fromEntries(Object.entries(extra ?? {}).map(([name, url]) => [name, libsql(url)]))
  return new Registry({ database, extra: extras, warn: false })
}

function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)
  })
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer))
}

function nextReply(child: ChildProcess): Promise<ChildReply> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`a child exited (${code}) before replying`))
    child.once('exit', onExit)
    child.once('message', (message: ChildReply) => {
      child.off('exit', onExit)
      resolve(message)
    })
  })
}

/** `n` processes, each with its registry built, sent `go` together; resolves with what each reported. */
async function race(target: Target, dir: string, n = 20): Promise<ChildReply[]> {
  const config = JSON.stringify({ ...target, dir })
  const children = Array.from({ length: n }, () =>
    fork(childScript, [config], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
  )
  try {
    await withDeadline(Promise.all(children.map(nextReply)), 20_000, 'children starting')
    const replies = children.map(nextReply)
    for (const child of children) child.send('go')
    return await withDeadline(Promise.all(replies), 60_000, 'children migrating')
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
  }
}

/** How many times each file's statements ran, from the rows the files themselves wrote. */
async function runsPerFile(registry: Registry, schema?: string): Promise<Record<string, number>> {
  const db = registry.using(undefined, { schema })
  const { rows } = await db.query<{ file: string; n: unknown }>(
    'select file, count(*) as n from mig_runs group by file order by file',
  )
  return Object.fromEntries(rows.map((r) => [r.file, Number(r.n)]))
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Takes the migration lock from outside lazydb, as another runner would. `release()` frees it and
 * resolves with the time (ms) just before it did; the libSQL holder frees it by itself after 1.5 s.
 */
async function holdLock(target: Target): Promise<{ release(): Promise<number> }> {
  let released: Promise<number> | undefined
  const once = (free: () => Promise<number>) => ({ release: () => (released ??= free()) })
  if (target.kind === 'mysql2') {
    const c = await mariadbRoot()
    await c.query(`SELECT GET_LOCK(CONCAT('lazydb_mig_', SHA1(?)), 0)`, [target.schema])
    return once(async () => {
      const at = Date.now()
      await c.query(`SELECT RELEASE_LOCK(CONCAT('lazydb_mig_', SHA1(?)))`, [target.schema])
      await c.end()
      return at
    })
  }
  if (POSTGRES_KINDS.includes(target.kind)) {
    const client = new pg.Client({ connectionString: PG_DIRECT })
    await client.connect()
    await client.query('begin')
    await client.query("select pg_advisory_xact_lock(hashtext('lazydb_migrations.' || $1))", [target.schema])
    return once(async () => {
      const at = Date.now()
      await client.query('commit')
      await client.end()
      return at
    })
  }
  if (target.kind === 'planetscale') {
    const c = await mariadbRoot()
    const table = `\`${target.schema}\`.lazydb_migrations_lock`
    await c.query(
      `CREATE TABLE IF NOT EXISTS ${table} ` +
        '(id INT NOT NULL PRIMARY KEY, holder CHAR(36) NOT NULL, expires_at BIGINT NOT NULL)',
    )
    await c.query(`INSERT INTO ${table} VALUES (1, 'another runner', ROUND(UNIX_TIMESTAMP(NOW(3)) * 1000) + 600000)`)
    return once(async () => {
      const at = Date.now()
      await c.query(`UPDATE ${table} SET expires_at = 0`)
      await c.end()
      return at
    })
  }
  // libSQL's embedded client waits for a busy database synchronously, blocking its thread: the holder
  // is another process (as another runner would be), and it lets go on its own timer.
  const holder = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { createClient } from '@libsql/client'
      const client = createClient({ url: ${JSON.stringify(target.url)} })
      const tx = await client.transaction('write') // BEGIN IMMEDIATE
      console.log('held')
      setTimeout(async () => { console.log('released', Date.now()); await tx.commit(); client.close() }, 1500)`,
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
  )
  let output = ''
  const exited = new Promise<number>((resolve) =>
    holder.once('exit', () => resolve(Number(/released (\d+)/.exec(output)?.[1]))),
  )
  await withDeadline(
    new Promise<void>((resolve) =>
      holder.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString()
        if (output.includes('held')) resolve()
      }),
    ),
    10_000,
    'the lock holder starting',
  )
  return once(() => withDeadline(exited, 10_000, 'the lock holder ending'))
}

const KINDS: Array<[Kind, boolean]> = [
  ['neon-ws', pgUp],
  ['pg', pgUp],
  ['postgres', pgUp],
  ['planetscale', myUp],
  ['mysql2', myUp],
  ['libsql', true],
]

for (const [kind, up] of KINDS) {
  describe.skipIf(!up)(`migrations on ${kind}`, () => {
    it('20 processes started at once apply the 5-file set: each file once, one history, no failure', async () => {
      const target = await freshTarget(kind)
      const replies = await race(target, FIVE)
      expect(replies.filter((r) => r.error !== undefined).map((r) => r.error)).toEqual([])
      // Every file applied by exactly one process; every process saw every file applied or applied it.
      expect(replies.flatMap((r) => r.result!.applied).sort()).toEqual(FILES)
      for (const r of replies) expect([...r.result!.applied, ...r.result!.skipped].sort()).toEqual(FILES)
      const histories = replies.map((r) => r.history!)
      for (const history of histories) expect(history).toEqual(histories[0])
      expect(histories[0]!.map((m) => [m.name, m.state])).toEqual(FILES.map((name) => [name, 'applied']))
      const registry = registryFor(target)
      try {
        expect(await runsPerFile(registry, target.schema)).toEqual({
          '0001': 1,
          '0002': 1,
          '0003': 1,
          '0004': 1,
          '0005': 1,
        })
        // A file changed after it was applied is refused with its name, and nothing runs: not even a new file.
        const changed = tempDir('lazydb-migrations-changed-')
        try {
          cpSync(FIVE, changed.dir, { recursive: true })
          writeFileSync(changed.file('0003_seed.sql'), `${readFileSync(`${FIVE}/0003_seed.sql`, 'utf8')}-- edited\n`)
          writeFileSync(changed.file('0006_more.sql'), "insert into mig_runs (file) values ('0006');\n")
          const error = await migrate(registry, { dir: changed.dir, schema: target.schema }).catch((e: unknown) => e)
          expect(error).toBeInstanceOf(LazyDbError)
          expect((error as LazyDbError).code).toBe('MIGRATION_CHANGED')
          expect((error as LazyDbError).message).toContain('0003_seed.sql')
          expect((await runsPerFile(registry, target.schema))['0006']).toBeUndefined()
          const [status] = await migrationStatus(registry, { dir: changed.dir, schema: target.schema })
          expect(status!.migrations.map((m) => m.state)).toEqual([
            'applied',
            'applied',
            'changed',
            'applied',
            'applied',
            'pending',
          ])
        } finally {
          changed.remove()
        }
      } finally {
        await registry.disconnect({ force: true })
      }
    }, 120_000)

    it('waits while another runner holds the lock, applies once it is freed; TIMEOUT after lockTimeoutMs', async () => {
      const target = await freshTarget(kind)
      const registry = registryFor(target)
      const held = await holdLock(target)
      try {
        // The embedded libSQL client waits synchronously (see holdLock), so the one that times out is a
        // client of its own: after a BEGIN that failed busy, libSQL cannot COMMIT on that connection
        // until the failed statement is garbage-collected.
        const other =
          kind === 'libsql'
            ? new Registry({ database: libsql(target.url, { intMode: 'number' }), warn: false })
            : registry
        const timedOut = await migrate(other, { dir: FIVE, schema: target.schema, lockTimeoutMs: 300 }).catch((e) => e)
        if (other !== registry) await other.disconnect({ force: true })
        expect((timedOut as LazyDbError).code).toBe('TIMEOUT')
        expect((timedOut as LazyDbError).message).toContain('migration lock')
        let settled = false
        const running = migrate(registry, { dir: FIVE, schema: target.schema, lockTimeoutMs: 15_000 }).finally(() => {
          settled = true
        })
        if (kind !== 'libsql') {
          await sleep(500)
          expect(settled).toBe(false)
        }
        const releasedAt = await held.release()
        const [result] = await withDeadline(running, 15_000, 'migrate after the lock was freed')
        expect(result!.applied).toEqual(FILES)
        // Applied after the holder let go (the same clock: one machine).
        const [status] = await migrationStatus(registry, { dir: FIVE, schema: target.schema })
        for (const m of status!.migrations) expect(Date.parse(m.appliedAt!)).toBeGreaterThanOrEqual(releasedAt - 1)
      } finally {
        await held.release().catch(() => undefined)
        await registry.disconnect({ force: true })
      }
    }, 30_000)

    it('dryRun creates nothing; `to` stops at a file; the rest follows; progress comes per file', async () => {
      const target = await freshTarget(kind)
      const registry = registryFor(target)
      try {
        const events: MigrationProgress[] = []
        const onProgress = (e: MigrationProgress) => events.push(e)
        const [dry] = await migrate(registry, { dir: FIVE, schema: target.schema, dryRun: true, onProgress })
        expect(dry).toEqual({ database: 'default', applied: [], skipped: [], pending: FILES })
        expect(events.map((e) => e.state)).toEqual(FILES.map(() => 'pending'))
        const [before] = await migrationStatus(registry, { dir: FIVE, schema: target.schema })
        expect(before!.migrations.map((m) => m.state)).toEqual(FILES.map(() => 'pending'))
        // Nothing was created: the files' first table is not there.
        await expect(
          registry.using(undefined, { schema: target.schema }).query('select 1 from mig_runs'),
        ).rejects.toThrow()

        events.length = 0
        const [first] = await migrate(registry, { dir: FIVE, schema: target.schema, to: '0002', onProgress })
        expect(first!.applied).toEqual(FILES.slice(0, 2))
        expect(events.map((e) => [e.name, e.state])).toEqual(FILES.slice(0, 2).map((name) => [name, 'applied']))
        expect(events.every((e) => typeof e.durationMs === 'number')).toBe(true)
        const [middle] = await migrationStatus(registry, { dir: FIVE, schema: target.schema })
        expect(middle!.migrations.map((m) => m.state)).toEqual(['applied', 'applied', 'pending', 'pending', 'pending'])

        const [rest] = await migrate(registry, { dir: FIVE, schema: target.schema, to: '0004_add_name' })
        expect(rest).toEqual({
          database: 'default',
          applied: FILES.slice(2, 4),
          skipped: FILES.slice(0, 2),
          pending: [],
        })
        const [last] = await migrate(registry, { dir: FIVE, schema: target.schema })
        expect(last!.applied).toEqual(FILES.slice(4))
        const unknown = await migrate(registry, { dir: FIVE, schema: target.schema, to: '0009' }).catch((e) => e)
        expect((unknown as LazyDbError).code).toBe('INVALID_ARGUMENT')
      } finally {
        await registry.disconnect({ force: true })
      }
    }, 30_000)

    it('a failing file is named with its statement; what it did is rolled back where DDL allows', async () => {
      const target = await freshTarget(kind)
      const registry = registryFor(target)
      const dir = tempDir('lazydb-migrations-failing-')
      try {
        writeFileSync(dir.file('0001_ok.sql'), 'create table mig_ok (id integer primary key);\n')
        writeFileSync(
          dir.file('0002_bad.sql'),
          'create table mig_partial (id integer primary key);\ninsert into mig_nowhere (x) values (1);\n',
        )
        const error = (await migrate(registry, { dir: dir.dir, schema: target.schema }).catch((e) => e)) as LazyDbError
        expect(error).toBeInstanceOf(LazyDbError)
        expect(error.code).toBe('MIGRATION_FAILED')
        expect(error.message).toContain('0002_bad.sql failed at statement 2')
        const [status] = await migrationStatus(registry, { dir: dir.dir, schema: target.schema })
        expect(status!.migrations.map((m) => m.state)).toEqual(['applied', 'pending'])
        const partial = await registry
          .using(undefined, { schema: target.schema })
          .query('select count(*) as n from mig_partial')
          .then(
            () => 'kept',
            () => 'rolled back',
          )
        // MySQL commits DDL at once (documented): the CREATE TABLE before the failure stays.
        expect(partial).toBe(kind === 'planetscale' || kind === 'mysql2' ? 'kept' : 'rolled back')
      } finally {
        dir.remove()
        await registry.disconnect({ force: true })
      }
    }, 30_000)
  })
}

describe.skipIf(!pgUp)('migrations on neon-http (transactions over a WebSocket session)', () => {
  it('five registries migrating at once apply each file once', async () => {
    const target = await freshTarget('neon-ws')
    const registries = Array.from(
      { length: 5 },
      () =>
        new Registry({
          database: neon(PG_URL, {
            fetchEndpoint: neonHttpGw!.endpoint,
            wsProxy: neonGw!.wsProxy,
            useSecureWebSocket: false,
            pipelineConnect: false,
          }),
          warn: false,
        }),
    )
    try {
      expect(registries[0]!.database.driver).toBe('neon-http')
      const results = await withDeadline(
        Promise.all(registries.map((r) => migrate(r, { dir: FIVE, schema: target.schema }))),
        20_000,
        'neon-http migrations',
      )
      expect(results.flatMap(([r]) => r!.applied).sort()).toEqual(FILES)
      expect(await runsPerFile(registries[0]!, target.schema)).toEqual({
        '0001': 1,
        '0002': 1,
        '0003': 1,
        '0004': 1,
        '0005': 1,
      })
      const [status] = await migrationStatus(registries[0]!, { dir: FIVE, schema: target.schema })
      expect(status!.migrations.map((m) => m.state)).toEqual(FILES.map(() => 'applied'))
    } finally {
      await Promise.all(registries.map((r) => r.disconnect({ force: true })))
    }
  }, 30_000)
})

describe('migrations per alias and the CLI (libSQL files)', () => {
  /** A folder with default/ and analytics/ sets. */
  function twoAliasDir(): ReturnType<typeof tempDir> {
    const dir = tempDir('lazydb-migrations-aliases-')
    cpSync(FIVE, dir.file('default'), { recursive: true })
    cpSync(FIVE, dir.file('analytics'), { recursive: true })
    writeFileSync(dir.file('analytics/0006_only_here.sql'), "insert into mig_runs (file) values ('0006');\n")
    return dir
  }

  it('refuses a file that ends or opens a transaction itself, naming it, before anything runs', async () => {
    // A COMMIT inside a file committed half of it and the error then said nothing had been applied
    // (found by the outside review): such a file is refused up front.
    const dir = tempDir('lazydb-migrations-commit-')
    writeFileSync(dir.file('0001_table.sql'), 'create table mig_c (v integer);\n')
    writeFileSync(
      dir.file('0002_commits.sql'),
      'insert into mig_c values (1);\ncommit;\ninsert into mig_c values (2);\n',
    )
    const registry = new Registry({ database: libsql(`file:${dir.file('c.db')}`), warn: false })
    try {
      const error = (await migrate(registry, { dir: dir.dir }).catch((e) => e)) as LazyDbError
      expect(error).toBeInstanceOf(LazyDbError)
      expect(error.code).toBe('MIGRATION_FAILED')
      expect(error.message).toContain('0002_commits.sql')
      expect(error.message).toContain('statement 2')
      const [status] = await migrationStatus(registry, { dir: dir.dir })
      expect(status!.migrations.map((m) => m.state)).toEqual(['pending', 'pending'])
      expect(await registry.database.query('select 1 from mig_c').catch((e: LazyDbError) => e.code)).toBe(
        'QUERY_FAILED',
      )
    } finally {
      await registry.disconnect({ force: true })
      dir.remove()
    }
  })

  it('migrates the default database and each extra alias with a folder from its own files', async () => {
    const dir = twoAliasDir()
    const registry = registryFor(
      { kind: 'libsql', url: `file:${dir.file('main.db')}` },
      { analytics: `file:${dir.file('analytics.db')}`, other: `file:${dir.file('other.db')}` },
    )
    try {
      const results = await migrate(registry, { dir: dir.dir })
      expect(results.map((r) => [r.database, r.applied.length])).toEqual([
        ['default', 5],
        ['analytics', 6],
      ])
      expect(Object.keys(await runsPerFile(registry))).toEqual(['0001', '0002', '0003', '0004', '0005'])
      const only = await migrate(registry, { dir: dir.dir, database: 'analytics' })
      expect(only).toEqual([
        { database: 'analytics', applied: [], skipped: [...FILES, '0006_only_here.sql'], pending: [] },
      ])
    } finally {
      await registry.disconnect({ force: true })
      dir.remove()
    }
  })

  const cli = `${root}dist/cli.js`
  it.skipIf(!existsSync(cli) && process.env.CI === undefined)(
    'the built subpath @lazydb/core/migrate throws the core LazyDbError; the main entry never loads node:fs',
    async () => {
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `import { LazyDbError, Registry } from '@lazydb/core'
          import { migrate } from '@lazydb/core/migrate'
          const error = await migrate(new Registry({ database: ':memory:', warn: false }), { dir: '' }).catch((e) => e)
          const built = import.meta.resolve('@lazydb/core/migrate').endsWith('/dist/migrate/index.js')
          console.log(built, error instanceof LazyDbError, error.code)`,
        ],
        { cwd: root, timeout: 10_000 },
      )
      expect(stdout.trim()).toBe('true true INVALID_ARGUMENT')
      for (const core of ['dist/index.js', 'dist/index.worker.js']) {
        // The migration runner's own names (the rollback scope's libSQL client has a migrate() method of its own).
        expect(readFileSync(`${root}${core}`, 'utf8'), core).not.toMatch(/node:fs|lazydb_migrations|migrationStatus/)
      }
    },
  )
  it.skipIf(!existsSync(cli) && process.env.CI === undefined)(
    'npx lazydb migrate / migrate status over DATABASE_URL and DATABASE_URL_<NAME> (dist/cli.js, after npm run build)',
    async () => {
      const run = promisify(execFile)
      const dir = twoAliasDir()
      const env = {
        ...process.env,
        DATABASE_URL: `file:${dir.file('main.db')}`,
        DATABASE_URL_ANALYTICS: `file:${dir.file('analytics.db')}`,
      }
      const lazydb = async (...args: string[]) => {
        try {
          const { stdout, stderr } = await run(process.execPath, [cli, ...args], { env, timeout: 15_000 })
          return { code: 0, stdout, stderr }
        } catch (error) {
          const e = error as { code: number; stdout: string; stderr: string }
          return { code: e.code, stdout: e.stdout, stderr: e.stderr }
        }
      }
      try {
        const dry = await lazydb('migrate', '--dir', dir.dir, '--dry-run')
        expect(dry.code).toBe(0)
        expect(dry.stdout).toContain('default  0001_create_users.sql  pending')
        expect(dry.stdout).toContain('analytics  0006_only_here.sql  pending')

        const applied = await lazydb('migrate', '--dir', dir.dir, '--to', '0003')
        expect(applied.code).toBe(0)
        const lines = applied.stdout.trim().split('\n')
        expect(lines.filter((l) => /^default {2}\d{4}_.*applied in \d+ ms$/.test(l))).toHaveLength(3)
        expect(lines.filter((l) => /^analytics {2}\d{4}_.*applied in \d+ ms$/.test(l))).toHaveLength(3)
        expect(lines).toContain('default: 3 applied, 0 already applied')

        const status = await lazydb('migrate', 'status', '--dir', dir.dir, '--database', 'analytics')
        expect(status.code).toBe(0)
        const states = status.stdout
          .trim()
          .split('\n')
          .map((l) => l.split('  ').slice(0, 3).join(' '))
        expect(states).toEqual([
          ...FILES.slice(0, 3).map((f) => `analytics ${f} applied`),
          ...[...FILES.slice(3), '0006_only_here.sql'].map((f) => `analytics ${f} pending`),
        ])

        writeFileSync(dir.file('default/0002_create_notes.sql'), '-- rewritten\n')
        const refused = await lazydb('migrate', '--dir', dir.dir)
        expect(refused.code).toBe(1)
        expect(refused.stderr).toMatch(/^lazydb: MIGRATION_CHANGED: .*0002_create_notes\.sql/)

        const usage = await lazydb('migrations')
        expect(usage.code).toBe(2)
        expect(usage.stderr).toContain('Usage:')
      } finally {
        dir.remove()
      }
    },
    30_000,
  )
})
