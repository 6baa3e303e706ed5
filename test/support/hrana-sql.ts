// The SQLite side of the Hrana test gateway, shared by its HTTP and WebSocket transports: one
// `libsql` connection per Hrana stream, and the stream requests (execute, batch, sequence, …) run on it.
import Database from 'libsql'

export type Value =
  | { type: 'null' }
  | { type: 'integer'; value: string }
  | { type: 'float'; value: number }
  | { type: 'text'; value: string }
  | { type: 'blob'; base64: string }
export interface Stmt {
  sql?: string
  sql_id?: number
  args?: Value[]
  named_args?: { name: string; value: Value }[]
  want_rows?: boolean
}
type Cond =
  | { type: 'ok' | 'error'; step: number }
  | { type: 'not'; cond: Cond }
  | { type: 'and' | 'or'; conds: Cond[] }
  | { type: 'is_autocommit' }
export interface Req {
  type: string
  stmt?: Stmt
  batch?: { steps: { condition?: Cond; stmt: Stmt }[] }
  sql?: string
  sql_id?: number
}
// Never touch `db` once `closed`: libsql's `inTransaction` on a closed connection aborts the process.
export interface SqlStream {
  db: Database.Database
  sqls: Map<number, string>
  closed: boolean
}
export class HranaError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message)
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
export const toError = (e: unknown) => ({
  message: e instanceof Error ? e.message : String(e),
  code: (e as { code?: unknown }).code ?? null,
})

const fromValue = (v: Value): unknown =>
  v.type === 'integer'
    ? BigInt(v.value)
    : v.type === 'float'
      ? Number(v.value)
      : v.type === 'text'
        ? v.value
        : v.type === 'blob'
          ? Buffer.from(v.base64, 'base64')
          : null
const toValue = (v: unknown): Value =>
  v === null
    ? { type: 'null' } // rows come with safeIntegers: INTEGER is bigint
    : typeof v === 'bigint'
      ? { type: 'integer', value: String(v) }
      : typeof v === 'number'
        ? { type: 'float', value: v }
        : typeof v === 'string'
          ? { type: 'text', value: v }
          : { type: 'blob', base64: Buffer.from(v as Uint8Array).toString('base64') }

// While another stream's connection holds the write lock, wait (without blocking the event loop) and retry, up to 5 s.
async function retryBusy<T>(f: () => T): Promise<T> {
  for (const until = Date.now() + 5000; ; await sleep(5)) {
    try {
      return f()
    } catch (e) {
      if ((e as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() > until) throw e
    }
  }
}

const cols = (p: Database.Statement) => p.columns().map((c) => ({ name: c.name, decltype: c.type }))
function sqlText(s: SqlStream, x: { sql?: string; sql_id?: number }): string {
  if (s.closed) throw new HranaError('The stream is closed', 'STREAM_CLOSED')
  const sql = x.sql ?? s.sqls.get(x.sql_id ?? -1)
  if (sql === undefined) throw new HranaError(`SQL text ${x.sql_id} is not stored`, 'SQL_NOT_FOUND')
  return sql
}
function execute(s: SqlStream, stmt: Stmt) {
  const sql = sqlText(s, stmt)
  const named = stmt.named_args ?? [] // libsql binds `{ name }` objects to :name/@name/$name, prefix stripped
  const args =
    named.length === 0
      ? (stmt.args ?? []).map(fromValue)
      : Object.fromEntries(named.map((a) => [a.name.replace(/^[:@$]/, ''), fromValue(a.value)]))
  const meta = () =>
    s.db
      .prepare('SELECT changes(), last_insert_rowid(), total_changes()')
      .raw(true)
      .safeIntegers(true)
      .all([])[0] as bigint[] // total_changes() tells whether the statement wrote
  const before = meta()[2]
  const p = s.db.prepare(sql)
  let rows: unknown[][] = []
  if (p.reader) rows = p.raw(true).safeIntegers(true).all(args) as unknown[][]
  else p.run(args)
  const [changes, rowid, total] = meta()
  const changed = total !== before
  return {
    cols: cols(p),
    rows: stmt.want_rows === false ? [] : rows.map((r) => r.map(toValue)),
    affected_row_count: changed ? Number(changes) : 0,
    last_insert_rowid: changed ? String(rowid) : null,
  }
}

async function batch(s: SqlStream, steps: { condition?: Cond; stmt: Stmt }[]) {
  const results: unknown[] = [],
    errors: unknown[] = []
  const test = (c: Cond): boolean =>
    c.type === 'ok'
      ? results[c.step] != null
      : c.type === 'error'
        ? errors[c.step] != null
        : c.type === 'not'
          ? !test(c.cond)
          : c.type === 'and'
            ? c.conds.every(test)
            : c.type === 'or'
              ? c.conds.some(test)
              : !s.closed && !s.db.inTransaction // is_autocommit
  for (const [i, step] of steps.entries()) {
    results[i] = errors[i] = null
    if (step.condition && !test(step.condition)) continue
    try {
      results[i] = await retryBusy(() => execute(s, step.stmt))
    } catch (e) {
      errors[i] = toError(e)
    }
  }
  return { step_results: results, step_errors: errors }
}

function describe(s: SqlStream, sql: string) {
  const bare = sql.replace(/'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|\/\*[\s\S]*?\*\//g, ' ')
  return {
    params: [...bare.matchAll(/\?\d*|[:@$][A-Za-z_]\w*/g)].map(([m]) => ({ name: m === '?' ? null : m })),
    cols: cols(s.db.prepare(sql)),
    is_explain: /^\s*explain\b/i.test(bare),
    // An approximation: libsql does not expose sqlite3_stmt_readonly.
    is_readonly: /^\s*(select|values|explain)\b/i.test(bare),
  }
}

/** A new connection to `file`; over WebSocket the stored SQL texts belong to the socket, so they are passed in. */
export function openSqlStream(file: string, sqls = new Map<number, string>()): SqlStream {
  const s = { db: new Database(file), sqls, closed: false }
  s.db.pragma('journal_mode = WAL')
  return s
}

/** Rolls back what the stream left open and closes its connection; false if it was closed already. */
export function closeSqlStream(s: SqlStream): boolean {
  if (s.closed) return false
  s.closed = true
  try {
    if (s.db.inTransaction) s.db.exec('ROLLBACK')
  } catch {
    /* connection already unusable */
  }
  s.db.close()
  return true
}

/** Runs one request on a stream and resolves to its response; rejects with the error to report for it. */
export async function streamRequest(s: SqlStream, req: Req): Promise<Record<string, unknown>> {
  if (s.closed) throw new HranaError('The stream is closed', 'STREAM_CLOSED')
  switch (req.type) {
    case 'execute':
      return { type: req.type, result: await retryBusy(() => execute(s, req.stmt!)) }
    case 'batch':
      return { type: req.type, result: await batch(s, req.batch!.steps) }
    case 'sequence':
      await retryBusy(() => s.db.exec(sqlText(s, req)))
      return { type: req.type }
    case 'describe':
      return { type: req.type, result: describe(s, sqlText(s, req)) }
    case 'store_sql':
      s.sqls.set(req.sql_id!, req.sql!)
      return { type: req.type }
    case 'close_sql':
      s.sqls.delete(req.sql_id!)
      return { type: req.type }
    case 'get_autocommit':
      return { type: req.type, is_autocommit: !s.db.inTransaction }
    default:
      throw new HranaError(`Unknown request type ${JSON.stringify(req.type)}`, 'PROTO_ERROR')
  }
}
