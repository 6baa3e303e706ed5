// Hrana over HTTP, protocol v2 JSON (`POST /v2/pipeline`), backed by a SQLite file through `libsql`, so the
// unmodified `@libsql/client` runs without sqld. One SQLite connection per stream (a chain of batons).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { randomBytes } from 'node:crypto'
import Database from 'libsql'

export interface HranaGatewayOptions {
  file: string
  delayMs?: number // one-way delay before each HTTP request is handled
  authToken?: string // when set, pipeline POSTs need `Authorization: Bearer <token>`, else 401
  streamIdleMs?: number // idle streams are closed after this long (default 10 000)
}
export interface HranaGateway {
  url: string
  readonly roundTrips: number // HTTP requests received, rejected ones included
  readonly streamsOpened: number // requests that came without a baton
  openStreams(): number
  resetCounters(): void
  close(): Promise<void>
}

type Value = { type: 'null' } | { type: 'integer'; value: string } | { type: 'float'; value: number }
  | { type: 'text'; value: string } | { type: 'blob'; base64: string }
interface Stmt { sql?: string; sql_id?: number; args?: Value[]; named_args?: { name: string; value: Value }[]; want_rows?: boolean }
type Cond = { type: 'ok' | 'error'; step: number } | { type: 'not'; cond: Cond } | { type: 'and' | 'or'; conds: Cond[] } | { type: 'is_autocommit' }
interface Req { type: string; stmt?: Stmt; batch?: { steps: { condition?: Cond; stmt: Stmt }[] }; sql?: string; sql_id?: number }
// Never touch `db` once `closed`: libsql's `inTransaction` on a closed connection aborts the process.
interface Stream { db: Database.Database; baton: string; sqls: Map<number, string>; lastUsed: number; closed: boolean }
class HranaError extends Error { constructor(message: string, readonly code?: string) { super(message) } }

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const toError = (e: unknown) => ({ message: e instanceof Error ? e.message : String(e), code: (e as { code?: unknown }).code ?? null })

const fromValue = (v: Value): unknown => v.type === 'integer' ? BigInt(v.value)
  : v.type === 'float' ? Number(v.value) : v.type === 'text' ? v.value
  : v.type === 'blob' ? Buffer.from(v.base64, 'base64') : null
const toValue = (v: unknown): Value => v === null ? { type: 'null' } // rows come with safeIntegers: INTEGER is bigint
  : typeof v === 'bigint' ? { type: 'integer', value: String(v) }
  : typeof v === 'number' ? { type: 'float', value: v }
  : typeof v === 'string' ? { type: 'text', value: v }
  : { type: 'blob', base64: Buffer.from(v as Uint8Array).toString('base64') }

// While another stream's connection holds the write lock, wait (without blocking the event loop) and retry, up to 5 s.
async function retryBusy<T>(f: () => T): Promise<T> {
  for (const until = Date.now() + 5000; ; await sleep(5)) {
    try { return f() } catch (e) { if ((e as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() > until) throw e }
  }
}

const cols = (p: Database.Statement) => p.columns().map((c) => ({ name: c.name, decltype: c.type }))
function sqlText(s: Stream, x: { sql?: string; sql_id?: number }): string {
  if (s.closed) throw new HranaError('The stream is closed', 'STREAM_CLOSED')
  const sql = x.sql ?? s.sqls.get(x.sql_id ?? -1)
  if (sql === undefined) throw new HranaError(`SQL text ${x.sql_id} is not stored`, 'SQL_NOT_FOUND')
  return sql
}
function execute(s: Stream, stmt: Stmt) {
  const sql = sqlText(s, stmt)
  const named = stmt.named_args ?? [] // libsql binds `{ name }` objects to :name/@name/$name, prefix stripped
  const args = named.length === 0 ? (stmt.args ?? []).map(fromValue)
    : Object.fromEntries(named.map((a) => [a.name.replace(/^[:@$]/, ''), fromValue(a.value)]))
  const meta = () => s.db.prepare('SELECT changes(), last_insert_rowid(), total_changes()')
    .raw(true).safeIntegers(true).all([])[0] as bigint[] // total_changes() tells whether the statement wrote
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

async function batch(s: Stream, steps: { condition?: Cond; stmt: Stmt }[]) {
  const results: unknown[] = [], errors: unknown[] = []
  const test = (c: Cond): boolean => c.type === 'ok' ? results[c.step] != null
    : c.type === 'error' ? errors[c.step] != null
    : c.type === 'not' ? !test(c.cond)
    : c.type === 'and' ? c.conds.every(test)
    : c.type === 'or' ? c.conds.some(test)
    : !s.closed && !s.db.inTransaction // is_autocommit
  for (const [i, step] of steps.entries()) {
    results[i] = errors[i] = null
    if (step.condition && !test(step.condition)) continue
    try { results[i] = await retryBusy(() => execute(s, step.stmt)) } catch (e) { errors[i] = toError(e) }
  }
  return { step_results: results, step_errors: errors }
}

function describe(s: Stream, sql: string) {
  const bare = sql.replace(/'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|\/\*[\s\S]*?\*\//g, ' ')
  return {
    params: [...bare.matchAll(/\?\d*|[:@$][A-Za-z_]\w*/g)].map(([m]) => ({ name: m === '?' ? null : m })),
    cols: cols(s.db.prepare(sql)),
    is_explain: /^\s*explain\b/i.test(bare),
    is_readonly: /^\s*(select|values|explain)\b/i.test(bare), // approximation: libsql does not expose sqlite3_stmt_readonly
  }
}

export async function startHranaGateway(options: HranaGatewayOptions): Promise<HranaGateway> {
  const { file, delayMs = 0, authToken, streamIdleMs = 10_000 } = options
  const streams = new Set<Stream>()
  const batons = new Map<string, Stream>() // current baton -> stream; a baton is good for one request
  let roundTrips = 0, streamsOpened = 0
  const openStream = (): Stream => {
    const s = { db: new Database(file), baton: '', sqls: new Map<number, string>(), lastUsed: 0, closed: false }
    s.db.pragma('journal_mode = WAL')
    streams.add(s); streamsOpened++
    return s
  }
  const closeStream = (s: Stream) => {
    if (s.closed) return
    s.closed = true
    streams.delete(s)
    batons.delete(s.baton)
    try { if (s.db.inTransaction) s.db.exec('ROLLBACK') } catch { /* connection already unusable */ }
    s.db.close()
  }

  async function pipeline(body: { baton?: string | null; requests: Req[] }) {
    const stream = body.baton == null ? openStream() : batons.get(body.baton)
    if (!stream) throw new HranaError('The stream has expired or its baton is invalid', 'STREAM_EXPIRED')
    batons.delete(stream.baton)
    stream.lastUsed = Infinity // busy: not swept while this request runs
    const results: unknown[] = []
    for (const req of body.requests) {
      try {
        if (stream.closed) throw new HranaError('The stream is closed', 'STREAM_CLOSED')
        let response: Record<string, unknown> = { type: req.type }
        switch (req.type) {
          case 'execute': response.result = await retryBusy(() => execute(stream, req.stmt!)); break
          case 'batch': response.result = await batch(stream, req.batch!.steps); break
          case 'sequence': await retryBusy(() => stream.db.exec(sqlText(stream, req))); break
          case 'describe': response.result = describe(stream, sqlText(stream, req)); break
          case 'store_sql': stream.sqls.set(req.sql_id!, req.sql!); break
          case 'close_sql': stream.sqls.delete(req.sql_id!); break
          case 'get_autocommit': response = { type: req.type, is_autocommit: !stream.db.inTransaction }; break
          case 'close': closeStream(stream); break
          default: throw new HranaError(`Unknown request type ${JSON.stringify(req.type)}`, 'PROTO_ERROR')
        }
        results.push({ type: 'ok', response })
      } catch (e) {
        results.push({ type: 'error', error: toError(e) })
      }
    }
    if (stream.closed) return { baton: null, base_url: null, results }
    stream.baton = randomBytes(12).toString('base64url')
    stream.lastUsed = Date.now()
    batons.set(stream.baton, stream)
    return { baton: stream.baton, base_url: null, results }
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    roundTrips++
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    if (delayMs > 0) await sleep(delayMs)
    const reply = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    const path = (req.url ?? '/').split('?')[0]
    if (req.method === 'GET') return reply(path === '/v2' || path === '/' || path === '/health' ? 200 : 404, {})
    if (req.method !== 'POST' || path !== '/v2/pipeline') return reply(404, { error: `No route ${req.method} ${path}` })
    if (authToken !== undefined && req.headers.authorization !== `Bearer ${authToken}`) { // like sqld: no `message` key
      return reply(401, { error: 'Unauthorized: missing or wrong bearer token' })
    }
    await Promise.resolve().then(() => pipeline(JSON.parse(Buffer.concat(chunks).toString('utf8'))))
      .then((r) => reply(200, r), (e) => reply(400, toError(e)))
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e) => { if (!res.headersSent) res.writeHead(500).end(String(e)) })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const sweep = setInterval(() => {
    for (const s of [...streams]) if (Date.now() - s.lastUsed > streamIdleMs) closeStream(s)
  }, Math.min(1000, streamIdleMs / 2)).unref()

  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get roundTrips() { return roundTrips },
    get streamsOpened() { return streamsOpened },
    openStreams: () => streams.size,
    resetCounters() { roundTrips = 0; streamsOpened = 0 },
    async close() {
      clearInterval(sweep)
      for (const s of [...streams]) closeStream(s)
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
