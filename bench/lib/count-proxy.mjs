// A TCP proxy in front of a real server that counts round trips the way the Neon WebSocket gateway
// does: opening a connection is one (the client waits for the handshake), and every client write
// that follows something the server sent (or opens the conversation) starts another. Bytes are
// passed through untouched; an optional one-way delay per direction (and 2× on connect) makes the
// first-row time show what the round trips cost.
import net from 'node:net'

/** Runs actions in order, each `ms` after it was queued. */
function lane(ms) {
  const queue = []
  return (action) => {
    if (ms <= 0) return action()
    queue.push(action)
    setTimeout(() => queue.shift()?.(), ms)
  }
}

/**
 * Starts the proxy on 127.0.0.1 (a free port). Returns `{ port, counters(), openConnections(),
 * reset(), close() }`; counters() is `{ roundTrips, connectionsOpened, peakOpen }` since the last reset
 * (peakOpen: the most connections open at once, counted as each one opens: exact, not sampled).
 */
export async function startCountingProxy({ target, delayMs = 0 }) {
  const live = new Set()
  let c = { roundTrips: 0, connectionsOpened: 0, peakOpen: 0 }
  const server = net.createServer((client) => {
    c.roundTrips++
    c.connectionsOpened++
    const conn = { client, upstream: undefined }
    live.add(conn)
    c.peakOpen = Math.max(c.peakOpen, live.size)
    client.pause()
    // No Nagle in the proxy: a driver that writes a turn in several chunks must not wait on it here.
    client.setNoDelay(true)
    client.on('error', () => client.destroy())
    client.on('close', () => conn.upstream === undefined && live.delete(conn))
    setTimeout(() => {
      if (client.destroyed) return live.delete(conn)
      const upstream = net.connect(target.port, target.host)
      conn.upstream = upstream
      upstream.setNoDelay(true)
      const toServer = lane(delayMs)
      const toClient = lane(delayMs)
      // Servers that speak first (MySQL's greeting) count only once the client answers.
      let serverSpokeLast = true
      upstream.on('error', () => upstream.destroy())
      upstream.on('close', () => (toClient(() => client.end()), live.delete(conn)))
      client.on('close', () => toServer(() => upstream.end()))
      client.on('data', (data) => {
        if (serverSpokeLast) c.roundTrips++
        serverSpokeLast = false
        toServer(() => upstream.destroyed || upstream.write(data))
      })
      upstream.on('data', (data) => {
        serverSpokeLast = true
        toClient(() => client.destroyed || client.write(data))
      })
      client.resume()
    }, 2 * delayMs)
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: server.address().port,
    counters: () => ({ ...c }),
    openConnections: () => live.size,
    reset() {
      c = { roundTrips: 0, connectionsOpened: 0, peakOpen: live.size }
    },
    async close() {
      for (const { client, upstream } of live) {
        client.destroy()
        upstream?.destroy()
      }
      await new Promise((resolve) => server.close(resolve))
    },
  }
}
