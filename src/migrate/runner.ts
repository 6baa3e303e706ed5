// migrate() and migrationStatus(): ordered SQL files per alias, a history table, one runner at a time.
import type { Database } from '../database.js'
import { argumentError, isOptionsObject, LazyDbError } from '../errors.js'
import type { Registry } from '../registry.js'
import type { Transaction } from '../types.js'
import { dialectOf, HISTORY, type Dialect, type HistoryRow, isMissingTable, whileBusy } from './dialects.js'
import { folderOf, migrationFiles, type MigrationFile } from './files.js'
import { splitSql } from './split-sql.js'

export interface MigrateOptions {
  /** The migrations folder: `<dir>/<alias>/NNNN_name.sql`; the default database's in `<dir>/default/` or `<dir>/`. */
  dir: string
  /** One alias; by default the default database and every extra one that has a folder. */
  database?: string
  /** Apply up to and including this file (its name, with or without `.sql`, or its number). */
  to?: string
  /** Report what would be applied; run nothing, create nothing. */
  dryRun?: boolean
  /** Postgres schema or MySQL database to migrate (its own history table), as `registry.using(alias, { schema })`. */
  schema?: string
  /** How long to wait for another runner's lock (default 120 000 ms). */
  lockTimeoutMs?: number
  /** Called once per file: applied by this runner, already applied (skipped), or pending in a dry run. */
  onProgress?: (event: MigrationProgress) => void
}

export interface MigrationProgress {
  database: string
  name: string
  state: 'applied' | 'skipped' | 'pending'
  /** For `applied`: how long its statements took. */
  durationMs?: number
}

export interface MigrationResult {
  database: string
  /** Applied by this call, in order. */
  applied: string[]
  /** Already in the history (applied earlier, or by a runner that held the lock first). */
  skipped: string[]
  /** A dry run: what would be applied, in order. */
  pending: string[]
}

export interface MigrationState {
  name: string
  /** `missing`: in the history, but no longer on disk. `changed`: on disk with another checksum than applied. */
  state: 'applied' | 'pending' | 'changed' | 'missing'
  checksum: string
  appliedAt?: string
  durationMs?: number
}

export interface MigrationStatus {
  database: string
  migrations: MigrationState[]
}

const DEFAULT_LOCK_TIMEOUT_MS = 120_000

function checkOptions(options: unknown): asserts options is MigrateOptions {
  if (!isOptionsObject(options) || typeof options.dir !== 'string' || options.dir === '') {
    throw argumentError(
      'migrate',
      'options.dir must name the migrations folder',
      "Call migrate(registry, { dir: 'migrations' })",
    )
  }
  for (const key of ['database', 'to', 'schema'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'string') {
      throw argumentError('migrate', `options.${key} must be a string`, `Pass ${key} as a string, or leave it out`)
    }
  }
  const ms = options.lockTimeoutMs
  if (ms !== undefined && !(typeof ms === 'number' && Number.isInteger(ms) && ms >= 0 && ms <= 2_147_483_647)) {
    throw argumentError('migrate', 'options.lockTimeoutMs must be a whole number of milliseconds', 'Pass e.g. 60000')
  }
}

/** The aliases to migrate: the one asked for, or the default and every extra with a folder. */
async function aliases(registry: Registry, options: MigrateOptions): Promise<string[]> {
  if (options.database !== undefined) return [options.database]
  const extras: string[] = []
  for (const name of Object.keys(registry.extra))
    if ((await folderOf(options.dir, name)) !== undefined) extras.push(name)
  return ['default', ...extras]
}

/** An ISO time: Postgres gives a Date, SQLite an ISO string, MySQL epoch seconds (its TIMESTAMP has no zone). */
function text(value: unknown): string {
  if (value instanceof Date) return value.toISOString()
  if (typeof value === 'number' || (typeof value === 'string' && /^\d+(\.\d+)?$/.test(value))) {
    return new Date(Math.round(Number(value) * 1000)).toISOString()
  }
  return String(value)
}

function toRow(row: Record<string, unknown>): HistoryRow {
  return {
    name: String(row.name),
    checksum: String(row.checksum),
    appliedAt: text(row.applied_at),
    durationMs: Number(row.duration_ms),
  }
}

const selectHistory = (dialect: Dialect) =>
  `select name, checksum, ${dialect.family === 'mysql' ? 'unix_timestamp(applied_at) as applied_at' : 'applied_at'}, ` +
  `duration_ms from ${HISTORY} order by name`

/** The history as it is, outside any lock; empty when no migration ever ran. */
async function readHistory(db: Database, dialect: Dialect, lockTimeoutMs: number): Promise<HistoryRow[]> {
  const read = async () => {
    try {
      return (await db.query(selectHistory(dialect))).rows.map(toRow)
    } catch (error) {
      if (isMissingTable(error)) return []
      throw error
    }
  }
  return dialect.family === 'sqlite' ? whileBusy(db, lockTimeoutMs, read) : read()
}

function changedError(db: Database, file: MigrationFile, applied: HistoryRow): LazyDbError {
  return new LazyDbError(
    'MIGRATION_CHANGED',
    `database "${db.name}": the migration ${file.name} was changed after it was applied (checksum ` +
      `${applied.checksum.slice(0, 12)}… in ${HISTORY}, ${file.checksum.slice(0, 12)}… on disk). Nothing was run. ` +
      'Restore the file as it was applied and put the change in a new file',
    { database: db.name },
  )
}

/** Every applied file must be unchanged: checked before anything runs. */
function checkUnchanged(db: Database, files: MigrationFile[], history: HistoryRow[]): void {
  const applied = new Map(history.map((row) => [row.name, row]))
  for (const file of files) {
    const row = applied.get(file.name)
    if (row !== undefined && row.checksum !== file.checksum) throw changedError(db, file, row)
  }
}

/** The files up to and including `to`. */
function upTo(files: MigrationFile[], to: string | undefined, alias: string): MigrationFile[] {
  if (to === undefined) return files
  const index = files.findIndex(
    (f) =>
      f.name === to || f.name === `${to}.sql` || (/^\d+$/.test(to) && BigInt(f.name.split('_')[0]!) === BigInt(to)),
  )
  if (index === -1) {
    throw argumentError(
      'migrate',
      `no migration ${JSON.stringify(to)} for database "${alias}"`,
      `Pass { to } as one of: ${files.map((f) => f.name).join(', ') || '(no files)'}`,
      alias,
    )
  }
  return files.slice(0, index + 1)
}

function failedError(db: Database, dialect: Dialect, file: MigrationFile, at: number, stmt: string, error: unknown) {
  const cause = error instanceof LazyDbError ? error : undefined
  // The statement as the reader finds it in the file: without the comments before it.
  const what = stmt
    .replace(/^(?:\s*(?:--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/))+/, '')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 80)
  const after = dialect.atomic
    ? 'It was rolled back: nothing of it was applied'
    : 'MySQL commits DDL at once: statements before it that changed the schema stay applied ' +
      `(no row was written to ${HISTORY}); undo them by hand or make the file idempotent`
  return new LazyDbError(
    'MIGRATION_FAILED',
    `database "${db.name}": migration ${file.name} failed at statement ${at + 1} (${what}): ` +
      `${error instanceof Error ? error.message : String(error)}. ${after}. Fix the file and run again`,
    { database: db.name, cause: error, sqlState: cause?.sqlState, errno: cause?.errno },
  )
}

/** Comments before a statement's first word. */
const LEADING_COMMENTS = /^(?:\s*(?:--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/))+/
/** BEGIN, COMMIT, ROLLBACK, … as a statement's first word. */
const TRANSACTION_CONTROL = /^\s*(?:begin|commit|rollback|abort|end|start\s+transaction|savepoint|release)\b/i

/**
 * A file runs in a transaction of the runner's: one that ends it (COMMIT) would commit half of the file,
 * its history row never written, and one that opens another would nest. Refused before anything runs.
 */
function checkNoTransactionControl(db: Database, file: MigrationFile): void {
  const bare = splitSql(file.sql).map((statement) => statement.replace(LEADING_COMMENTS, ''))
  const at = bare.findIndex((statement) => TRANSACTION_CONTROL.test(statement))
  if (at < 0) return
  const what = bare[at]!.trim().slice(0, 40)
  throw new LazyDbError(
    'MIGRATION_FAILED',
    `database "${db.name}": migration ${file.name} has a transaction statement at statement ${at + 1} (${what}); ` +
      'each file runs in a transaction of its own, so nothing was run. Remove BEGIN/COMMIT/ROLLBACK from the file',
    { database: db.name },
  )
}

/**
 * One file under the lock: the history is read again there; when a runner before us applied the file,
 * that history comes back (so the caller skips what else it applied without taking the lock again).
 */
async function applyOne(
  db: Database,
  dialect: Dialect,
  file: MigrationFile,
  lockTimeoutMs: number,
): Promise<{ durationMs: number } | { history: HistoryRow[] }> {
  const statements = splitSql(file.sql)
  return dialect.locked(db, lockTimeoutMs, async (tx: Transaction) => {
    const history = (await tx.query(selectHistory(dialect))).rows.map(toRow)
    const row = history.find((r) => r.name === file.name)
    if (row !== undefined) {
      if (row.checksum !== file.checksum) throw changedError(db, file, row)
      return { history }
    }
    const started = performance.now()
    for (const [i, statement] of statements.entries()) {
      try {
        await tx.query(statement)
      } catch (error) {
        throw failedError(db, dialect, file, i, statement, error)
      }
    }
    const durationMs = Math.round(performance.now() - started)
    const p = dialect.param
    await tx.query(`insert into ${HISTORY} (name, checksum, duration_ms) values (${p(1)}, ${p(2)}, ${p(3)})`, [
      file.name,
      file.checksum,
      durationMs,
    ])
    return { durationMs }
  })
}

/** The history, the table created first (under the lock) when it is not there yet. */
async function historyCreating(db: Database, dialect: Dialect, lockTimeoutMs: number): Promise<HistoryRow[]> {
  const read = async () => (await db.query(selectHistory(dialect))).rows.map(toRow)
  try {
    return dialect.family === 'sqlite' ? await whileBusy(db, lockTimeoutMs, read) : await read()
  } catch (error) {
    if (!isMissingTable(error)) throw error
  }
  if (dialect.createsSafely) {
    await db.query(dialect.createHistory)
    return read()
  }
  return dialect.locked(db, lockTimeoutMs, async (tx) => {
    await tx.query(dialect.createHistory)
    return (await tx.query(selectHistory(dialect))).rows.map(toRow)
  })
}

async function migrateOne(registry: Registry, alias: string, options: MigrateOptions): Promise<MigrationResult> {
  const db = registry.using(alias === 'default' ? undefined : alias, { schema: options.schema })
  const dialect = dialectOf(db)
  const lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS
  const files = await migrationFiles(options.dir, alias)
  const target = upTo(files, options.to, alias)
  const result: MigrationResult = { database: alias, applied: [], skipped: [], pending: [] }
  const progress = (event: Omit<MigrationProgress, 'database'>) => options.onProgress?.({ database: alias, ...event })
  if (files.length === 0) return result // no files: the database is left alone (no history table either)
  const history =
    options.dryRun === true
      ? await readHistory(db, dialect, lockTimeoutMs)
      : await historyCreating(db, dialect, lockTimeoutMs)
  checkUnchanged(db, files, history)
  const applied = new Set(history.map((row) => row.name))
  for (const file of target) if (!applied.has(file.name)) checkNoTransactionControl(db, file)
  for (const file of target) {
    if (applied.has(file.name)) {
      result.skipped.push(file.name)
      progress({ name: file.name, state: 'skipped' })
    } else if (options.dryRun === true) {
      result.pending.push(file.name)
      progress({ name: file.name, state: 'pending' })
    } else {
      const outcome = await applyOne(db, dialect, file, lockTimeoutMs)
      if ('history' in outcome) {
        checkUnchanged(db, files, outcome.history)
        for (const row of outcome.history) applied.add(row.name)
        result.skipped.push(file.name)
        progress({ name: file.name, state: 'skipped' })
      } else {
        result.applied.push(file.name)
        progress({ name: file.name, state: 'applied', durationMs: outcome.durationMs })
      }
    }
  }
  return result
}

/**
 * Applies the pending migration files of each database, in order, each in its own transaction with
 * a row in `lazydb_migrations`. Safe when many processes start at once: one applies each file, the
 * others wait for it and skip it. A file changed after it was applied stops everything
 * (`MIGRATION_CHANGED`, naming the file) before anything runs.
 *
 * @example
 * import { migrate } from '@lazydb/core/migrate'
 * await migrate(registry, { dir: 'migrations' })
 * await migrate(registry, { dir: 'migrations', database: 'analytics', to: '0003', dryRun: true })
 */
export async function migrate(registry: Registry, options: MigrateOptions): Promise<MigrationResult[]> {
  checkOptions(options)
  const results: MigrationResult[] = []
  for (const alias of await aliases(registry, options)) results.push(await migrateOne(registry, alias, options))
  return results
}

/**
 * What is applied, pending, changed or missing, per database; reads only (creates nothing, takes no lock).
 *
 * @example
 * for (const { database, migrations } of await migrationStatus(registry, { dir: 'migrations' }))
 *   for (const m of migrations) console.log(database, m.name, m.state)
 */
export async function migrationStatus(
  registry: Registry,
  options: Pick<MigrateOptions, 'dir' | 'database' | 'schema' | 'lockTimeoutMs'>,
): Promise<MigrationStatus[]> {
  checkOptions(options)
  const statuses: MigrationStatus[] = []
  for (const alias of await aliases(registry, options)) {
    const db = registry.using(alias === 'default' ? undefined : alias, { schema: options.schema })
    const files = await migrationFiles(options.dir, alias)
    const history = await readHistory(db, dialectOf(db), options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS)
    const byName = new Map(history.map((row) => [row.name, row]))
    const migrations: MigrationState[] = files.map((file) => {
      const row = byName.get(file.name)
      if (row === undefined) return { name: file.name, state: 'pending', checksum: file.checksum }
      const state = row.checksum === file.checksum ? 'applied' : 'changed'
      return { name: file.name, state, checksum: file.checksum, appliedAt: row.appliedAt, durationMs: row.durationMs }
    })
    const onDisk = new Set(files.map((f) => f.name))
    for (const row of history) {
      if (!onDisk.has(row.name)) {
        migrations.push({
          name: row.name,
          state: 'missing',
          checksum: row.checksum,
          appliedAt: row.appliedAt,
          durationMs: row.durationMs,
        })
      }
    }
    statuses.push({ database: alias, migrations })
  }
  return statuses
}
