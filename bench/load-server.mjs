// The function under load: a notes API (GET lists the latest notes, POST adds one) served by a
// plain Node HTTP server through web Request/Response, written three ways:
//   lazydb — handler(registry, fn) with registry.database.query
//   pool   — best practice by hand: one driver client (Pool / neon() / createClient) at module scope
//   naive  — a new driver client per request (connect, query, close)
// `node bench/load-server.mjs <target> <variant>`; prints `port=<n>` once listening.
import { createServer } from 'node:http'
import { lazydbDatabase, naiveCall, rawClient } from './lib/drivers.mjs'

const [target, variant] = process.argv.slice(2)
const env = process.env
const max = env.BENCH_POOL_MAX === undefined ? undefined : Number(env.BENCH_POOL_MAX)
const pg = target.startsWith('neon')
const LIST = `select id, body, created_at from bench_notes order by id desc limit 20`
const INSERT = `insert into bench_notes (body) values (${pg ? '$1' : '?'})`

/** The app, given a `query(text, params) → rows` function. */
async function notes(request, query) {
  const { pathname } = new URL(request.url)
  if (pathname !== '/notes') return Response.json({ error: 'not found' }, { status: 404 })
  if (request.method === 'POST') {
    const body = await request.json()
    await query(INSERT, [String(body.body)])
    return Response.json({ inserted: 1 }, { status: 201 })
  }
  return Response.json(await query(LIST))
}

let app
let shutdown = async () => {}
if (variant === 'lazydb') {
  const { Registry, handler } = await import('@lazydb/core')
  const registry = new Registry({ database: await lazydbDatabase(target, env, max === undefined ? {} : { max }) })
  const query = async (text, params) => (await registry.database.query(text, params)).rows
  app = handler(registry, (request) => notes(request, query))
  shutdown = () => registry.disconnect({ force: true })
} else if (variant === 'pool') {
  const client = await rawClient(target, env, { max })
  const query = async (text, params) => (await client.query(text, params)).rows
  app = (request) => notes(request, query)
  shutdown = () => client.close()
} else {
  const call = await naiveCall(target, env)
  const query = async (text, params) => (await call(text, params)).rows
  app = (request) => notes(request, query)
}

const server = createServer(async (req, res) => {
  // The load generator reads this process's CPU time around each burst (CPU per request).
  if (req.url === '/__cpu') {
    const { user, system } = process.cpuUsage()
    return void res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ micros: user + system }))
  }
  try {
    const chunks = []
    for await (const chunk of req) chunks.push(chunk)
    const body = req.method === 'POST' ? Buffer.concat(chunks) : undefined
    const request = new Request(`http://127.0.0.1${req.url}`, {
      method: req.method,
      headers: { 'content-type': 'application/json' },
      body,
    })
    const response = await app(request)
    const payload = Buffer.from(await response.arrayBuffer())
    res
      .writeHead(response.status, { 'content-type': 'application/json', 'content-length': payload.length })
      .end(payload)
  } catch (error) {
    res.writeHead(500, { 'content-type': 'text/plain' }).end(String(error?.message ?? error))
  }
})
server.keepAliveTimeout = 30_000
server.listen(0, '127.0.0.1', () => process.stdout.write(`port=${server.address().port}\n`))
process.on('SIGTERM', () => {
  server.close()
  server.closeAllConnections()
  shutdown()
    .catch(() => {})
    .finally(() => process.exit(0))
})
