// Hrana over WebSocket (subprotocol `hrana2`, JSON text frames) on the HTTP gateway's server: a
// `hello` with the token, then `request` messages answered by `request_id`. Each stream is its own
// SQLite connection (hrana-sql.ts, as a baton's stream is over HTTP); stored SQL texts belong to the socket.
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { WebSocket, WebSocketServer } from 'ws'
import {
  closeSqlStream,
  HranaError,
  openSqlStream,
  streamRequest,
  toError,
  type Req,
  type SqlStream,
} from './hrana-sql.js'

export interface HranaWs {
  readonly url: string
  /** Upgrades, plus each flight of client messages that follows a server message (pipelined messages are one). */
  readonly roundTrips: number
  readonly connectionsOpened: number
  openConnections(): number
  openStreams(): number
  /** Cuts every WebSocket abruptly from the server side (no close frame), as a dead peer or a proxy would. */
  dropAll(): void
  resetCounters(): void
  close(): Promise<void>
}

type ClientMsg =
  | { type: 'hello'; jwt?: string | null }
  | { type: 'request'; request_id: number; request: Req & { stream_id?: number } }
interface WsStream {
  sql: SqlStream
  queue: Promise<unknown>
}

// @libsql/client offers hrana2 and hrana1; hrana3 would add cursors, which this gateway lacks.
const handleProtocols = (offered: Set<string>) => (offered.has('hrana2') ? 'hrana2' : false)

/** Serves Hrana over WebSocket on `server` (already listening), against the SQLite file `file`. */
export function attachHranaWs(server: Server, options: { file: string; authToken?: string | undefined }): HranaWs {
  const { file, authToken } = options
  const wss = new WebSocketServer({ server, handleProtocols })
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`
  const live = new Map<WebSocket, Map<number, WsStream>>()
  const ended: Promise<void>[] = []
  let c = { roundTrips: 0, connectionsOpened: 0 }

  wss.on('connection', (ws) => {
    const streams = new Map<number, WsStream>()
    const sqls = new Map<number, string>()
    live.set(ws, streams)
    c.roundTrips++
    c.connectionsOpened++
    let serverSpokeLast = true
    let hello: 'none' | 'ok' | 'refused' = 'none'
    // Sent a microtask later, so messages that arrived together (a pipelined flight) count once.
    const send = (msg: object, thenClose?: [code: number, reason: string]) =>
      queueMicrotask(() => {
        serverSpokeLast = true
        if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg))
        if (thenClose) ws.close(...thenClose)
      })
    const reply = (id: number, response: Promise<unknown>) =>
      response.then(
        (r) => send({ type: 'response_ok', request_id: id, response: r }),
        (e: unknown) => send({ type: 'response_error', request_id: id, error: toError(e) }),
      )

    const request = (id: number, req: Req & { stream_id?: number }) => {
      const streamId = req.stream_id ?? -1
      const stream = streams.get(streamId)
      if (req.type === 'open_stream') {
        if (stream) return ws.close(3003, `Stream ${streamId} is already open`)
        streams.set(streamId, { sql: openSqlStream(file, sqls), queue: Promise.resolve() })
        return reply(id, Promise.resolve({ type: req.type }))
      }
      if (req.type === 'store_sql' || req.type === 'close_sql') {
        if (req.type === 'store_sql') sqls.set(req.sql_id!, req.sql!)
        else sqls.delete(req.sql_id!)
        return reply(id, Promise.resolve({ type: req.type }))
      }
      if (!stream)
        return reply(id, Promise.reject(new HranaError(`Stream ${streamId} is not open`, 'STREAM_NOT_FOUND')))
      // A stream runs its requests in order; other streams (another transaction, say) go on meanwhile.
      const closing = req.type === 'close_stream'
      const run = stream.queue.then(() =>
        closing
          ? (closeSqlStream(stream.sql), streams.delete(streamId), { type: req.type })
          : streamRequest(stream.sql, req),
      )
      stream.queue = run.catch(() => undefined)
      return reply(id, run)
    }

    ws.on('message', (data, isBinary) => {
      if (serverSpokeLast) c.roundTrips++
      serverSpokeLast = false
      let msg: ClientMsg
      try {
        if (isBinary) throw new Error('binary frame')
        msg = JSON.parse(String(data)) as ClientMsg
      } catch {
        return ws.close(3003, 'Only JSON text messages are accepted')
      }
      if (hello === 'refused') return // the spec: after hello_error, ignore the client and close
      if (msg.type === 'hello') {
        hello = authToken === undefined || msg.jwt === authToken ? 'ok' : 'refused'
        if (hello === 'ok') return send({ type: 'hello_ok' })
        return send(
          { type: 'hello_error', error: { message: 'Unauthorized: missing or wrong token', code: 'UNAUTHORIZED' } },
          [3000, 'Unauthorized'],
        )
      }
      if (msg.type !== 'request' || hello !== 'ok') return ws.close(3003, `Unexpected ${msg.type} message`)
      void request(msg.request_id, msg.request)
    })
    ws.on('error', () => ws.terminate())
    ended.push(
      new Promise((resolve) =>
        ws.on('close', () => {
          for (const s of streams.values()) closeSqlStream(s.sql)
          live.delete(ws)
          resolve()
        }),
      ),
    )
  })

  const dropAll = () => {
    for (const ws of live.keys()) ws.terminate()
  }
  return {
    url,
    get roundTrips() {
      return c.roundTrips
    },
    get connectionsOpened() {
      return c.connectionsOpened
    },
    openConnections: () => live.size,
    openStreams: () => [...live.values()].reduce((n, streams) => n + streams.size, 0),
    dropAll,
    resetCounters() {
      c = { roundTrips: 0, connectionsOpened: 0 }
    },
    async close() {
      dropAll()
      await Promise.all(ended)
      await new Promise<void>((resolve) => wss.close(() => resolve()))
    },
  }
}
