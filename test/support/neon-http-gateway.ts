import http from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import pg from 'pg'

/**
 * A local stand-in for Neon's SQL-over-HTTP endpoint (`POST /sql`), run against the real
 * PostgreSQL with `pg`. Values stay in Postgres text form, as with `Neon-Raw-Text-Output`.
 */
export interface NeonHttpGatewayOptions {
  /** One-way delay for each request and each reply (a round trip costs 2×delayMs). */
  delayMs?: number
  /** Keep every request in `requests`. */
  record?: boolean
}

export interface RecordedRequest {
  method: string
  path: string
  /** Lower-cased names; the password in `neon-connection-string` is masked. */
  headers: Record<string, string>
  body: unknown
}

export interface NeonHttpGateway {
  /** For `neonConfig.fetchEndpoint`. */
  readonly endpoint: string
  readonly port: number
  readonly roundTrips: number
  readonly requests: readonly RecordedRequest[]
  resetCounters(): void
  /**
   * While on, the endpoint does not listen (and open keep-alive connections are cut): fetch fails
   * with ECONNREFUSED, as when the endpoint is unreachable, before any request bytes are sent.
   * The returned promise resolves once the cut connections have closed (so a client in this
   * process has seen it); when turned off, once the endpoint listens on the same port again.
   */
  refuse(on: boolean): Promise<void>
  /** Closes the server and ends every pool (no server connection is left). */
  close(): Promise<void>
}

type SqlQuery = { query: string; params?: unknown[] }
type Body = SqlQuery & { queries?: SqlQuery[] }

export const MASKED_PASSWORD = '********'
const ERROR_FIELDS = [
  'severity',
  'code',
  'detail',
  'hint',
  'position',
  'internalPosition',
  'internalQuery',
  'where',
  'schema',
  'table',
  'column',
  'dataType',
  'constraint',
  'file',
  'line',
  'routine',
] as const
const ISOLATION: Record<string, string> = {
  ReadUncommitted: 'READ UNCOMMITTED',
  ReadCommitted: 'READ COMMITTED',
  RepeatableRead: 'REPEATABLE READ',
  Serializable: 'SERIALIZABLE',
}
const rawText = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig
const httpError = (status: number, message: string, code?: string) =>
  Object.assign(new Error(message), { status, code })
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

function beginStatement(h: http.IncomingHttpHeaders): string {
  const isolation = h['neon-batch-isolation-level']
  const level = isolation === undefined ? undefined : ISOLATION[String(isolation)]
  if (isolation !== undefined && !level) throw httpError(400, `invalid isolation level: ${isolation}`, '22023')
  const flag = (name: string, on: string, off: string) => (h[name] === undefined ? '' : h[name] === 'true' ? on : off)
  return (
    `BEGIN${level ? ` ISOLATION LEVEL ${level}` : ''}${flag('neon-batch-read-only', ' READ ONLY', ' READ WRITE')}` +
    flag('neon-batch-deferrable', ' DEFERRABLE', ' NOT DEFERRABLE')
  )
}

async function run(db: pg.Pool | pg.PoolClient, q: SqlQuery, arrayMode: boolean) {
  // Always the extended protocol, so one query is one statement, as on Neon's server.
  const config = { text: q.query, values: q.params ?? [], rowMode: 'array', queryMode: 'extended' } as const
  const r = await db.query(config as pg.QueryArrayConfig)
  const fields = r.fields.map((f) => ({
    name: f.name,
    dataTypeID: f.dataTypeID,
    tableID: f.tableID,
    columnID: f.columnID,
    dataTypeSize: f.dataTypeSize,
    dataTypeModifier: f.dataTypeModifier,
    format: 'text',
  }))
  const rows = arrayMode ? r.rows : r.rows.map((row) => Object.fromEntries(fields.map((f, i) => [f.name, row[i]])))
  return { command: r.command, rowCount: r.rowCount, rowAsArray: arrayMode, rows, fields }
}

function recorded(req: http.IncomingMessage, path: string, body: unknown): RecordedRequest {
  const headers = Object.fromEntries(Object.entries(req.headers).map(([name, value]) => [name, String(value)]))
  const conn = headers['neon-connection-string']
  if (conn) {
    const url = new URL(conn)
    if (url.password) url.password = MASKED_PASSWORD
    headers['neon-connection-string'] = url.href
  }
  return { method: req.method ?? '', path, headers, body }
}

// Postgres errors and bad requests are 400 with the error fields (the driver throws a NeonDbError);
// anything else, such as the server being down, is 500 (the driver's generic server error).
function errorReply(err: unknown): [number, Record<string, unknown>] {
  const e = err as Error & Record<string, unknown>
  const fields: Record<string, unknown> = { message: e.message }
  for (const name of ERROR_FIELDS) if (e[name] !== undefined) fields[name] = e[name]
  const known = err instanceof pg.DatabaseError || err instanceof SyntaxError
  return [typeof e.status === 'number' ? e.status : known ? 400 : 500, fields]
}

export async function startNeonHttpGateway(options: NeonHttpGatewayOptions = {}): Promise<NeonHttpGateway> {
  const delayMs = options.delayMs ?? 0
  const pools = new Map<string, pg.Pool>()
  const sockets = new Set<Socket>()
  let refusing = false
  let roundTrips = 0
  let requests: RecordedRequest[] = []

  // Host and port always become the local server; user, database and parameters are kept.
  const poolFor = (connectionString: string): pg.Pool => {
    const url = new URL(connectionString)
    url.hostname = '127.0.0.1'
    url.port = '5432'
    for (const name of ['sslmode', 'channel_binding', 'sslrootcert']) url.searchParams.delete(name)
    let pool = pools.get(url.href)
    if (!pool) {
      pools.set(url.href, (pool = new pg.Pool({ connectionString: url.href, max: 5, types: rawText })))
      pool.on('error', () => {}) // an idle connection dropping is not the test's business
    }
    return pool
  }

  const execute = async (headers: http.IncomingHttpHeaders, body: Body) => {
    const connectionString = headers['neon-connection-string']
    if (typeof connectionString !== 'string') throw httpError(400, 'missing Neon-Connection-String header', '08001')
    const pool = poolFor(connectionString)
    const arrayMode = headers['neon-array-mode'] === 'true'
    if (!Array.isArray(body.queries)) return run(pool, body, arrayMode)
    const begin = beginStatement(headers)
    const client = await pool.connect()
    try {
      await client.query(begin)
      const results = []
      for (const q of body.queries) results.push(await run(client, q, arrayMode))
      await client.query('COMMIT')
      client.release()
      return { results }
    } catch (err) {
      await client.query('ROLLBACK').then(
        () => client.release(),
        (e: Error) => client.release(e),
      )
      throw err
    }
  }

  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    await sleep(delayMs)
    roundTrips++
    let status = 200
    let reply: unknown
    try {
      const path = new URL(req.url ?? '/', 'http://gateway').pathname
      if (req.method !== 'POST' || path !== '/sql') throw httpError(404, `no route ${req.method} ${path}`)
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Body
      if (options.record) requests.push(recorded(req, path, body))
      reply = await execute(req.headers, body)
    } catch (err) {
      ;[status, reply] = errorReply(err)
    }
    await sleep(delayMs)
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(reply))
  })

  server.on('connection', (socket) => {
    if (refusing) return void socket.destroy()
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port

  return {
    endpoint: `http://127.0.0.1:${port}/sql`,
    port,
    get roundTrips() {
      return roundTrips
    },
    get requests() {
      return requests
    },
    resetCounters() {
      roundTrips = 0
      requests = []
    },
    refuse(on) {
      if (on === refusing) return Promise.resolve()
      refusing = on
      if (on) {
        // Accepting and then dropping would not do: the client has written its request by then, so
        // it could not tell whether the request ran. Closing the listener refuses the TCP connect.
        const closed = new Promise<void>((resolve) => server.close(() => setImmediate(resolve)))
        // fetch keeps connections alive: cut those too, or it would go on using them.
        for (const socket of sockets) socket.destroy()
        return closed
      }
      return new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(port, '127.0.0.1', () => {
          server.off('error', reject)
          resolve()
        })
      })
    },
    async close() {
      refusing = true
      const closed = new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()))
      server.closeAllConnections()
      await closed
      await Promise.all([...pools.values()].map((pool) => pool.end()))
      pools.clear()
    },
  }
}
