// One round-trip measurement in a fresh process, driven by the parent over IPC:
// `fork(bench/roundtrip-child.mjs, [target, 'lazydb' | 'raw', warmCalls])`. It prepares everything
// without touching the gateway, runs the first query on 'go', reports, then the warm queries on 'warm'.
import http from 'node:http'
import { lazydbDatabase, rawClient } from './lib/drivers.mjs'

const [target, mode, warmText] = process.argv.slice(2)
const warmCalls = Number(warmText)
const env = process.env

// fetch (undici) loads lazily on first use: pay that before timing, against a throwaway server.
const server = http.createServer((_req, res) => res.end('ok'))
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
await (await fetch(`http://127.0.0.1:${server.address().port}/`)).text()
server.closeAllConnections()
server.close()

let call
let close
if (mode === 'lazydb') {
  const { Registry, handler } = await import('@lazydb/core')
  const registry = new Registry({ database: await lazydbDatabase(target, env) })
  call = handler(registry, () => registry.database.query('select 1 as one'))
  close = () => registry.disconnect({ force: true })
} else {
  const client = await rawClient(target, env)
  call = () => client.query('select 1 as one')
  close = () => client.close()
}

const next = (want) =>
  new Promise((resolve) => process.once('message', (m) => (m === want ? resolve() : process.exit(2))))
process.send('ready')
await next('go')
let started = performance.now()
await call()
process.send({ firstMs: performance.now() - started })
await next('warm')
started = performance.now()
for (let i = 0; i < warmCalls; i++) await call()
process.send({ warmMs: (performance.now() - started) / warmCalls })
await close()
process.disconnect()
