// One cold burst in a fresh process:
// `node --import ./bench/lib/count-clients.mjs bench/cold-child.mjs <target> <mode> <count>`.
// Fires `count` first invocations at once and prints what happened as JSON. Driver clients are counted
// by the wrapped driver constructors (lib/count-clients.mjs), the same way for every mode:
//   lazydb         — handler(registry, fn) with registry.database.query
//   module-scope   — what a careful user writes: one client at module scope, made on first use behind a
//                    single-flight promise (`ready ??= makeClient()`)
//   lazy-racy      — a common hand-written getter without single-flight:
//                    `if (!client) client = await makeClient()` (every caller that arrives before the
//                    first one finishes makes its own client)
//   per-invocation — a new driver client per invocation (create, query, close)
import { driverClientCounts, driverClientsCreated } from './lib/count-clients.mjs'
import { lazydbDatabase, naiveCall, preloadRaw, rawClient } from './lib/drivers.mjs'

const [target, mode, countText] = process.argv.slice(2)
const count = Number(countText)
const env = process.env
const SELECT = 'select 1 as one'
/** Hand-made clients still open after the burst (closed once everything is counted). */
const madeByHand = []

/** The async factory a user writes (it could read a secret first; here it awaits the driver's module). */
async function makeClient() {
  const client = await rawClient(target, env)
  madeByHand.push(client)
  return client
}

async function lazydbInvoke() {
  const { Registry, handler } = await import('@lazydb/core')
  const registry = new Registry({ database: await lazydbDatabase(target, env) })
  const invoke = handler(registry, async () => (await registry.database.query(SELECT)).rows.length)
  return { invoke, registry }
}

function moduleScopeInvoke() {
  let ready
  const client = () => (ready ??= makeClient())
  return { invoke: async () => (await (await client()).query(SELECT)).rows.length }
}

function lazyRacyInvoke() {
  let client
  const getClient = async () => {
    if (!client) client = await makeClient()
    return client
  }
  return { invoke: async () => (await (await getClient()).query(SELECT)).rows.length }
}

async function perInvocationInvoke() {
  const call = await naiveCall(target, env)
  return { invoke: async () => (await call(SELECT)).rows.length }
}

const MODES = {
  lazydb: lazydbInvoke,
  'module-scope': moduleScopeInvoke,
  'lazy-racy': lazyRacyInvoke,
  'per-invocation': perInvocationInvoke,
}
if (MODES[mode] === undefined) throw new Error(`unknown mode ${mode}; modes: ${Object.keys(MODES).join(', ')}`)
// The driver's packages are loaded before the burst in every mode (lazydb's subpath imports them).
await preloadRaw(target)
const { invoke, registry } = await MODES[mode]()
const started = performance.now()
const settled = await Promise.allSettled(Array.from({ length: count }, () => invoke()))
const durationMs = performance.now() - started
const failed = settled.filter((s) => s.status === 'rejected')
const stats = registry?.stats()
const out = {
  ok: settled.length - failed.length,
  errors: failed.length,
  firstError: failed[0] ? String(failed[0].reason?.message ?? failed[0].reason).slice(0, 200) : undefined,
  durationMs: Math.round(durationMs),
  // Everything the process made, setup included: a client made before the burst counts too.
  driverClientsCreated: driverClientsCreated(),
  driverClientsByEntryPoint: driverClientCounts(),
  registryConnects: stats?.databases.default.connects,
  coldInvocations: stats?.invocations.cold,
}
await registry?.disconnect({ force: true }).catch(() => {})
await Promise.allSettled(madeByHand.map((client) => client.close()))
process.stdout.write(`\n${JSON.stringify(out)}\n`)
process.exit(0)
