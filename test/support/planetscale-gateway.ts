// A local stand-in for PlanetScale's HTTP API, for driving the unmodified @planetscale/database
// driver against the real MariaDB. It speaks the driver's protocol (POST JSON, Basic auth,
// `{session, result, error, timing}` replies, rows as `{lengths, values}`) and forwards the
// final SQL to MariaDB through mysql2.
// Sessions: the reply's `session` is `{id, inTransaction, database}`; the gateway keeps the state.
// - A session whose server connection is inside a transaction (judged from the OK packet's status
//   flags: BEGIN, START TRANSACTION, SET autocommit=0 …) keeps that mysql2 connection pinned until
//   a statement leaves it outside one (COMMIT, ROLLBACK, implicit commit).
// - `SET TRANSACTION …` (no SESSION/GLOBAL) sets the next transaction's characteristics on the MySQL
//   connection it runs on, where real Vitess keeps it on the session until the transaction starts:
//   so the session keeps that connection pinned from SET TRANSACTION until its transaction ends
//   (the driver sends SET TRANSACTION, then BEGIN), and the setting never reaches another session.
// - `USE db` is remembered per session (from MariaDB's session tracking); a borrowed pool
//   connection whose current database differs gets `USE` re-issued first (no pinning).
// - A pinned connection that dies (killServerConnections) loses the transaction: that statement
//   fails, then every statement but ROLLBACK fails (COMMIT too, then the session is clear), as
//   Vitess answers for a transaction it no longer has. Outside transactions, a statement that
//   hits a dead pool connection is retried once on a fresh one, as vttablet does, unless
//   `reconnect: false`: then the gateway answers with the lost connection (errno 2013) and any
//   recovery is the client's (a suite that tests lazydb's recovery turns the gateway's off).
// - refuse(true) stops listening (a failover: the endpoint is briefly unreachable) until refuse(false).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import mysql from 'mysql2/promise'
import type { FieldPacket, PoolConnection, ResultSetHeader } from 'mysql2/promise'
import { setupMariadb } from './mariadb.js'

export interface GatewayMysqlOptions {
  host: string
  port: number
  user: string
  password: string
  database: string
}
export interface PlanetscaleGatewayOptions {
  /** Simulated network latency, added once per request before it is executed. */
  delayMs?: number
  /** Server and credentials (also the only Basic-auth pair accepted); default: setupMariadb(). */
  mysql?: GatewayMysqlOptions
  /**
   * Retry a statement outside a transaction once on a fresh MySQL connection when its pooled one
   * died under it, as vttablet does (default true). Off, the client gets errno 2013 instead.
   */
  reconnect?: boolean
}
export interface PlanetscaleGateway {
  readonly port: number
  /** `http://user:pass@127.0.0.1:PORT` (defaults: the MariaDB user); `http:` keeps the driver off https. */
  url(user?: string, password?: string): string
  /** HTTP requests received (Execute and CreateSession, failed ones included) since the last reset. */
  readonly roundTrips: number
  /** Live mysql2 connections (pooled and pinned). */
  openMysqlConnections(): number
  /** Sessions currently holding a pinned connection (in a transaction). */
  pinnedSessions(): number
  resetCounters(): void
  /** `KILL CONNECTION` the server side of the gateway's connections; resolves once mysql2 saw them close. */
  killServerConnections(which?: 'all' | 'pinned' | 'pool'): Promise<number>
  /** Statements the gateway re-ran on a fresh MySQL connection after their pooled one died (see `reconnect`). */
  readonly reconnects: number
  /**
   * While on, the endpoint does not listen and its keep-alive connections are cut: fetch fails with
   * ECONNREFUSED before any request byte is sent. Resolves once the listener has closed (on) or
   * listens again on the same port (off).
   */
  refuse(on: boolean): Promise<void>
  close(): Promise<void>
}

interface Session {
  database: string
  conn?: PoolConnection
  txLost?: boolean
  txNext?: boolean
}
type Core = PoolConnection['connection'] & { threadId: number; stream: NodeJS.EventEmitter & { destroyed?: boolean } }

/** MySQL errno → the gRPC code Vitess reports (the rest: Unknown). */
const GRPC: Record<string, number[]> = {
  AlreadyExists: [1007, 1022, 1050, 1062, 1586],
  NotFound: [1049, 1051, 1091, 1146],
  Aborted: [1213, 1927],
  InvalidArgument: [1048, 1052, 1054, 1064, 1110, 1136, 1149, 1241, 1264, 1265, 1292, 1364, 1366, 1406],
  PermissionDenied: [1044, 1045, 1142, 1143, 1227],
  FailedPrecondition: [1216, 1217, 1451, 1452, 1792],
  DeadlineExceeded: [1205, 3024],
  ResourceExhausted: [1040, 1114, 1203],
  Unavailable: [2006, 2013],
}
const INTS: Record<number, string> = { 1: 'INT8', 2: 'INT16', 9: 'INT24', 3: 'INT32', 8: 'INT64' }
const FIXED: Record<number, string> = {
  0: 'DECIMAL',
  246: 'DECIMAL',
  4: 'FLOAT32',
  5: 'FLOAT64',
  7: 'TIMESTAMP',
  10: 'DATE',
  14: 'DATE',
  11: 'TIME',
  12: 'DATETIME',
  13: 'YEAR',
  16: 'BIT',
  245: 'JSON',
  247: 'ENUM',
  248: 'SET',
  255: 'GEOMETRY',
}

/** Vitess type name; undefined for NULL_TYPE, the zero enum value, which protojson leaves out. */
function vitessType(f: FieldPacket): string | undefined {
  const t = f.columnType ?? -1
  const flags = Number(f.flags)
  if (f.extendedFormat === 'json') return 'JSON' // MariaDB: LONGTEXT on the wire, JSON in extended metadata
  if (t in INTS) return (flags & 32 ? 'U' : '') + INTS[t]
  if (t === 6) return undefined
  if (flags & 256) return 'ENUM'
  if (flags & 2048) return 'SET'
  if (t in FIXED) return FIXED[t]
  const binary = flags & 128 || f.characterSet === 63 // like Vitess: the BINARY flag (so *_bin text too)
  if (t === 254) return binary ? 'BINARY' : 'CHAR'
  if (t === 15 || t === 253) return binary ? 'VARBINARY' : 'VARCHAR'
  return binary ? 'BLOB' : 'TEXT'
}

/** Drops empty and zero values, as protojson does. */
const compact = (o: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== '' && v !== 0))

function encodeField(f: FieldPacket) {
  const type = vitessType(f)
  const charset = type === 'JSON' ? 63 : f.characterSet // MySQL (hence PlanetScale) types JSON as binary
  return {
    name: f.name,
    ...compact({
      type,
      table: f.table,
      orgTable: f.orgTable,
      database: f.schema,
      orgName: f.orgName,
      columnLength: f.columnLength,
      charset,
      decimals: f.decimals,
      flags: Number(f.flags),
    }),
  }
}

function encodeRow(row: Array<Buffer | null>) {
  const present = row.filter((v): v is Buffer => v !== null)
  return compact({
    lengths: row.map((v) => (v === null ? '-1' : String(v.length))),
    values: Buffer.concat(present).toString('base64'),
  })
}

interface SqlError {
  errno?: number
  sqlState?: string
  sqlMessage?: string
  message: string
  fatal?: boolean
}
const isConnectionError = (e: SqlError) => !e.sqlState || e.fatal === true || [1927, 2006, 2013].includes(e.errno ?? 0)

function vitessError(e: SqlError, sql: string, db: string, user: string, grpcCode?: string) {
  const errno = (e.sqlState && e.errno) || 2013 // Node socket errors carry negative errnos
  const grpc = grpcCode ?? Object.keys(GRPC).find((k) => GRPC[k]!.includes(errno)) ?? 'Unknown'
  const desc = `${e.sqlMessage ?? e.message} (errno ${errno}) (sqlstate ${e.sqlState ?? 'HY000'})`
  return {
    code: grpc.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase(),
    message:
      `target: ${db}.-.primary: vttablet: rpc error: code = ${grpc} desc = ${desc} ` +
      `(CallerID: ${user}): Sql: ${JSON.stringify(sql)}, BindVars: {}`,
  }
}

export async function startPlanetscaleGateway(options: PlanetscaleGatewayOptions = {}): Promise<PlanetscaleGateway> {
  const my = options.mysql ?? (await setupMariadb())
  const pool = mysql.createPool({ ...my, connectionLimit: 50, supportBigNumbers: true, bigNumberStrings: true })
  const live = new Set<Core>()
  const currentDb = new WeakMap<object, string>()
  pool.pool.on('connection', (c: Core) => {
    live.add(c)
    c.on('error', () => {}) // a killed idle connection must not crash the test process
    c.stream.once('close', () => live.delete(c))
  })
  const sessions = new Map<string, Session>()
  let roundTrips = 0
  let reconnects = 0
  let refusing = false
  const sockets = new Set<Socket>()
  const reconnect = options.reconnect ?? true
  let nextSession = 0
  const typeCast = (field: { buffer(): Buffer | null }) => field.buffer() // the raw text-protocol bytes

  async function run(
    s: Session,
    sql: string,
    retry = true,
  ): Promise<[unknown, FieldPacket[] | undefined, PoolConnection]> {
    const conn = s.conn ?? (await pool.getConnection())
    try {
      if ((currentDb.get(conn.connection) ?? my.database) !== s.database) {
        await conn.query(`USE \`${s.database.replace(/`/g, '``')}\``)
        currentDb.set(conn.connection, s.database)
      }
      const [result, fields] = await conn.query({ sql, rowsAsArray: true, typeCast })
      return [result, fields, conn]
    } catch (err) {
      if (!s.conn) isConnectionError(err as SqlError) ? conn.destroy() : conn.release()
      if (!s.conn && retry && reconnect && isConnectionError(err as SqlError)) {
        reconnects++
        return run(s, sql, false)
      }
      throw err
    }
  }

  async function execute(body: { query?: string; session?: { id?: string } | null }) {
    const sql = String(body.query ?? '')
    const id = body.session?.id ?? `gw-${++nextSession}`
    const s = sessions.get(id) ?? { database: my.database }
    const reply = (extra: object) => {
      if (s.conn || s.txLost || s.database !== my.database) sessions.set(id, s)
      else sessions.delete(id)
      return {
        session: { id, inTransaction: Boolean((s.conn && !s.txNext) || s.txLost), database: s.database },
        ...extra,
      }
    }
    const fail = (e: SqlError, grpc?: string) => reply({ error: vitessError(e, sql, s.database, my.user, grpc) })
    const started = performance.now()
    if (s.txLost) {
      const ending = /^\s*(commit|rollback)\b(?!\s+to\b)/i.exec(sql)?.[1]?.toLowerCase()
      if (ending) s.txLost = false
      if (ending === 'rollback') return reply({ result: {}, timing: 0 })
      return fail(
        { errno: 2013, sqlState: 'HY000', message: `transaction of session ${id} not found: its connection was lost` },
        'Aborted',
      )
    }
    let result: unknown, fields: FieldPacket[] | undefined, conn: PoolConnection
    try {
      ;[result, fields, conn] = await run(s, sql)
    } catch (err) {
      if (!s.conn || !isConnectionError(err as SqlError)) return fail(err as SqlError)
      s.conn.destroy()
      s.conn = undefined
      if (s.txNext)
        s.txNext = false // no transaction had started: only the SET TRANSACTION is lost
      else s.txLost = true
      return fail(err as SqlError, 'Aborted')
    }
    const timing = (performance.now() - started) / 1000
    let out: object
    if (Array.isArray(result)) {
      out = { fields: (fields ?? []).map(encodeField), rows: (result as Array<Array<Buffer | null>>).map(encodeRow) }
    } else {
      const header = result as ResultSetHeader & { stateChanges?: { schema?: string | null } }
      const schema = header.stateChanges?.schema ?? /^\s*use\s+`?([^`\s;]+)`?\s*;?\s*$/i.exec(sql)?.[1]
      if (schema) currentDb.set(conn.connection, (s.database = schema))
      const inTransaction = (header.serverStatus & 1) !== 0 || (header.serverStatus & 2) === 0
      if (/^\s*set\s+transaction\b/i.test(sql))
        [s.conn, s.txNext] = [conn, true] // held for the transaction it is for
      else if (inTransaction) [s.conn, s.txNext] = [conn, false]
      else if (s.conn === conn && !s.txNext) s.conn = undefined
      const asString = (n: number | string) => (String(n) === '0' ? undefined : String(n))
      out = compact({ rowsAffected: asString(header.affectedRows), insertId: asString(header.insertId) })
    }
    if (!s.conn) conn.release()
    return reply({ result: out, timing })
  }

  function authorized(req: IncomingMessage): boolean {
    const match = /^Basic\s+(.+)$/i.exec(req.headers.authorization ?? '')
    const [user, ...rest] = Buffer.from(match?.[1] ?? '', 'base64')
      .toString('utf8')
      .split(':')
    // the driver sends the URL's userinfo as it is in the URL: still percent-encoded
    const decode = (text: string) => {
      try {
        return decodeURIComponent(text)
      } catch {
        return text
      }
    }
    return match !== null && decode(user ?? '') === my.user && decode(rest.join(':')) === my.password
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    roundTrips++
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs))
    const send = (status: number, payload: unknown) =>
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(payload))
    const path = req.url?.split('?')[0]
    if (
      req.method !== 'POST' ||
      !['/psdb.v1alpha1.Database/Execute', '/psdb.v1alpha1.Database/CreateSession'].includes(path ?? '')
    ) {
      return send(404, { error: { code: 'not_found', message: `no route for ${req.method} ${path}` } })
    }
    if (!authorized(req))
      return send(401, { error: { code: 'unauthenticated', message: 'invalid username or password' } })
    if (path?.endsWith('/CreateSession'))
      return send(200, { session: { id: `gw-${++nextSession}`, inTransaction: false, database: my.database } })
    send(200, await execute(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}'))) // bad JSON: 500 below
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' })
      res.end(JSON.stringify({ error: { code: 'internal', message: err.message } }))
    })
  })
  server.on('connection', (socket: Socket) => {
    if (refusing) return void socket.destroy()
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  const pinned = () => new Set([...sessions.values()].flatMap((s) => (s.conn ? [s.conn.connection] : [])))

  return {
    port,
    url: (user = my.user, password = my.password) =>
      `http://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}`,
    get roundTrips() {
      return roundTrips
    },
    openMysqlConnections: () => [...live].filter((c) => !c.stream.destroyed).length,
    pinnedSessions: () => pinned().size,
    resetCounters: () => {
      roundTrips = 0
      reconnects = 0
    },
    get reconnects() {
      return reconnects
    },
    refuse(on) {
      if (on === refusing) return Promise.resolve()
      refusing = on
      if (on) {
        const closed = new Promise<void>((resolve) => server.close(() => setImmediate(resolve)))
        for (const socket of sockets) socket.destroy() // fetch would go on using its keep-alive connections
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
    async killServerConnections(which = 'all') {
      const held = pinned()
      const victims = [...live].filter((c) => which === 'all' || (which === 'pinned') === held.has(c))
      const killer = await mysql.createConnection(my)
      for (const c of victims) await killer.query(`KILL CONNECTION ${c.threadId}`).catch(() => {})
      await killer.end()
      for (let i = 0; i < 100 && victims.some((c) => live.has(c)); i++) await new Promise((r) => setTimeout(r, 20))
      return victims.length
    },
    async close() {
      refusing = true
      server.closeAllConnections()
      await new Promise((resolve) => (server.listening ? server.close(resolve) : resolve(undefined)))
      for (const s of sessions.values()) s.conn?.destroy()
      sessions.clear()
      await pool.end()
      for (let i = 0; i < 100 && live.size > 0; i++) await new Promise((r) => setTimeout(r, 20))
    },
  }
}
