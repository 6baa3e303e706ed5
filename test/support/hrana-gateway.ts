// Hrana over HTTP, protocol v2 JSON (`POST /v2/pipeline`), backed by a SQLite file through `libsql`, so the
// unmodified `@libsql/client` runs without sqld. One SQLite connection per stream (a chain of batons).
// The same server also speaks Hrana over WebSocket (hrana-ws.ts), on the same file.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { randomBytes } from 'node:crypto'
import {
  closeSqlStream,
  HranaError,
  openSqlStream,
  sleep,
  streamRequest,
  toError,
  type Req,
  type SqlStream,
} from './hrana-sql.js'
import { attachHranaWs, type HranaWs } from './hrana-ws.js'

export interface HranaGatewayOptions {
  file: string
  delayMs?: number // one-way delay before each HTTP request is handled
  // When set, pipeline POSTs need `Authorization: Bearer <token>` (else 401), WebSocket hellos the token.
  authToken?: string
  streamIdleMs?: number // idle streams are closed after this long (default 10 000)
}
export interface HranaGateway {
  url: string
  /** Hrana over WebSocket on the same port: its `url` is ws://; its counters are its own. */
  ws: HranaWs
  readonly roundTrips: number // HTTP requests received, rejected ones included
  readonly streamsOpened: number // requests that came without a baton
  openStreams(): number
  resetCounters(): void
  close(): Promise<void>
}

interface Stream extends SqlStream {
  baton: string
  lastUsed: number
}

export async function startHranaGateway(options: HranaGatewayOptions): Promise<HranaGateway> {
  const { file, delayMs = 0, authToken, streamIdleMs = 10_000 } = options
  const streams = new Set<Stream>()
  const batons = new Map<string, Stream>() // current baton -> stream; a baton is good for one request
  let roundTrips = 0,
    streamsOpened = 0
  const openStream = (): Stream => {
    const s = { ...openSqlStream(file), baton: '', lastUsed: 0 }
    streams.add(s)
    streamsOpened++
    return s
  }
  const closeStream = (s: Stream) => {
    if (!closeSqlStream(s)) return
    streams.delete(s)
    batons.delete(s.baton)
  }

  async function pipeline(body: { baton?: string | null; requests: Req[] }) {
    const stream = body.baton == null ? openStream() : batons.get(body.baton)
    if (!stream) throw new HranaError('The stream has expired or its baton is invalid', 'STREAM_EXPIRED')
    batons.delete(stream.baton)
    stream.lastUsed = Infinity // busy: not swept while this request runs
    const results: unknown[] = []
    for (const req of body.requests) {
      try {
        const close = req.type === 'close' && !stream.closed
        if (close) closeStream(stream)
        results.push({ type: 'ok', response: close ? { type: req.type } : await streamRequest(stream, req) })
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
    if (authToken !== undefined && req.headers.authorization !== `Bearer ${authToken}`) {
      // like sqld: no `message` key
      return reply(401, { error: 'Unauthorized: missing or wrong bearer token' })
    }
    await Promise.resolve()
      .then(() => pipeline(JSON.parse(Buffer.concat(chunks).toString('utf8'))))
      .then(
        (r) => reply(200, r),
        (e) => reply(400, toError(e)),
      )
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e) => {
      if (!res.headersSent) res.writeHead(500).end(String(e))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const ws = attachHranaWs(server, { file, authToken })
  const sweep = setInterval(
    () => {
      for (const s of [...streams]) if (Date.now() - s.lastUsed > streamIdleMs) closeStream(s)
    },
    Math.min(1000, streamIdleMs / 2),
  ).unref()

  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    ws,
    get roundTrips() {
      return roundTrips
    },
    get streamsOpened() {
      return streamsOpened
    },
    openStreams: () => streams.size,
    resetCounters() {
      roundTrips = 0
      streamsOpened = 0
    },
    async close() {
      clearInterval(sweep)
      await ws.close()
      for (const s of [...streams]) closeStream(s)
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
