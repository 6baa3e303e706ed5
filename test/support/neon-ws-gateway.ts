import http from 'node:http'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import { WebSocketServer, WebSocket } from 'ws'

/**
 * A local stand-in for Neon's WebSocket proxy: the driver's binary WebSocket messages are raw
 * Postgres protocol bytes, piped to a TCP connection and back.
 */
export interface NeonWsGatewayOptions {
  /** One-way delay for each message in each direction and for the upgrade (a round trip costs 2×delayMs). */
  delayMs?: number
  /** Where TCP goes; by default every requested address is mapped to 127.0.0.1:5432. */
  target?: { host: string; port: number }
}

export interface NeonWsGateway {
  /** For `neonConfig.wsProxy`: host:port/path, no scheme. */
  readonly wsProxy: string
  readonly port: number
  readonly roundTrips: number
  readonly connectionsOpened: number
  readonly openConnections: number
  readonly bytesIn: number
  readonly bytesOut: number
  /** The `address` query parameter of the last upgrade, as the driver sent it. */
  readonly lastAddress: string | undefined
  resetCounters(): void
  /** While on, new upgrades are cut off before the WebSocket opens (the client sees a connect failure). */
  refuse(on: boolean): void
  /** Destroys every live TCP and WebSocket connection abruptly. */
  dropAll(): void
  close(): Promise<void>
}

/** Runs actions in order, each `ms` after it was queued. */
function lane(ms: number): (action: () => void) => void {
  const queue: Array<() => void> = []
  return (action) => {
    if (ms <= 0) return action()
    queue.push(action)
    setTimeout(() => queue.shift()?.(), ms)
  }
}

export async function startNeonWsGateway(options: NeonWsGatewayOptions = {}): Promise<NeonWsGateway> {
  const delayMs = options.delayMs ?? 0
  const target = options.target ?? { host: '127.0.0.1', port: 5432 }
  const live = new Set<{ ws: WebSocket; tcp: net.Socket }>()
  const closed: Array<Promise<void>> = []
  let refusing = false
  let c = { roundTrips: 0, connectionsOpened: 0, bytesIn: 0, bytesOut: 0 }
  let lastAddress: string | undefined

  const wss = new WebSocketServer({ noServer: true })
  const server = http.createServer((_req, res) => res.writeHead(426).end('WebSocket upgrade required'))

  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://gateway')
    if (refusing || !/^\/v[12]$/.test(url.pathname) || !url.searchParams.get('address')) {
      socket.destroy()
      return
    }
    lastAddress = url.searchParams.get('address') ?? undefined
    c.roundTrips++
    setTimeout(() => {
      if (refusing || socket.destroyed) return void socket.destroy()
      wss.handleUpgrade(req, socket, head, (ws) => pipe(ws))
    }, 2 * delayMs)
  })

  function pipe(ws: WebSocket): void {
    const tcp = net.connect(target.port, target.host)
    const conn = { ws, tcp }
    live.add(conn)
    c.connectionsOpened++
    const toServer = lane(delayMs)
    const toClient = lane(delayMs)
    let serverSpokeLast = true // the first client message starts a round trip
    let wsDone = false
    let tcpDone = false
    closed.push(
      new Promise((resolve) => {
        const settle = () => {
          if (wsDone && tcpDone && live.delete(conn)) resolve()
        }
        ws.on('close', () => ((wsDone = true), toServer(() => tcp.end()), settle()))
        tcp.on('close', () => ((tcpDone = true), toClient(() => ws.close()), settle()))
      }),
    )
    ws.on('error', () => ws.terminate())
    tcp.on('error', () => tcp.destroy())

    ws.on('message', (raw) => {
      const data = raw as Buffer // binaryType 'nodebuffer': whole messages as one Buffer
      if (serverSpokeLast) c.roundTrips++
      serverSpokeLast = false
      c.bytesIn += data.length
      toServer(() => {
        if (!tcp.destroyed) tcp.write(data)
      })
    })
    tcp.on('data', (chunk) => {
      serverSpokeLast = true
      c.bytesOut += chunk.length
      toClient(() => {
        if (ws.readyState === WebSocket.OPEN) ws.send(chunk, { binary: true })
      })
    })
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port

  const dropAll = () => {
    for (const { ws, tcp } of live) {
      tcp.destroy()
      ws.terminate()
    }
  }

  return {
    wsProxy: `127.0.0.1:${port}/v1`,
    port,
    get roundTrips() {
      return c.roundTrips
    },
    get connectionsOpened() {
      return c.connectionsOpened
    },
    get openConnections() {
      return live.size
    },
    get bytesIn() {
      return c.bytesIn
    },
    get bytesOut() {
      return c.bytesOut
    },
    get lastAddress() {
      return lastAddress
    },
    resetCounters() {
      c = { roundTrips: 0, connectionsOpened: 0, bytesIn: 0, bytesOut: 0 }
    },
    refuse(on) {
      refusing = on
    },
    dropAll,
    async close() {
      refusing = true
      dropAll()
      await Promise.all(closed)
      await new Promise<void>((resolve) => wss.close(() => resolve()))
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
