// Row 1: warm-path overhead. A handler()-wrapped `select 1` through registry.database.query against
// the raw driver call, in interleaved blocks; the ratio is the median of per-round ratios.
// Micro-variants split the overhead between the driver adapter, Database/Connection and handler().
import { QUICK, median, round, row } from '../lib/util.mjs'
import { available, lazydbDatabase, rawClient, startGateway } from '../lib/drivers.mjs'

/**
 * Times each variant in blocks of `block` sequential awaited calls, rotating the order every round
 * so drift and GC hit all variants alike. Returns ns per call for every round, per variant.
 */
export async function interleave(variants, { block, rounds, warmupBlocks = 3 }) {
  const names = Object.keys(variants)
  const perCall = Object.fromEntries(names.map((n) => [n, []]))
  const runBlock = async (fn) => {
    const started = process.hrtime.bigint()
    for (let i = 0; i < block; i++) await fn()
    return Number(process.hrtime.bigint() - started) / block
  }
  for (let w = 0; w < warmupBlocks; w++) for (const n of names) await runBlock(variants[n])
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? names : [...names].reverse()
    const rotated = order.map((_, i) => order[(i + r) % order.length])
    for (const n of rotated) perCall[n].push(await runBlock(variants[n]))
  }
  return perCall
}

const ratioOf = (perCall, subject, baseline) => median(perCall[subject].map((v, i) => v / perCall[baseline][i]))
const diffOf = (perCall, subject, baseline) =>
  round(median(perCall[subject].map((v, i) => v - perCall[baseline][i])), 1)

async function libsqlRows() {
  const { createClient } = await import('@libsql/client')
  const { Registry, handler } = await import('@lazydb/core')
  const { libsql, libsqlDriver } = await import('@lazydb/core/libsql')

  const raw = createClient({ url: ':memory:' })
  // The registry used through handler() only: never connect()ed, so handler is the only scope.
  const viaHandler = new Registry({ database: libsql(':memory:') })
  const wrapped = handler(viaHandler, () => viaHandler.database.query('select 1'))
  const noopWrapped = handler(viaHandler, async () => undefined)
  // A second registry, connect()ed, for db.query without handler (it shares the warm client by key).
  const connected = new Registry({ database: libsql(':memory:') })
  await connected.connect()
  const db = connected.database
  // The driver adapter alone (lazydb's DriverClient for libSQL).
  const adapter = await libsqlDriver.connect({
    alias: 'bench',
    driver: 'libsql',
    url: ':memory:',
    options: {},
    secrets: [],
  })
  const plainNoop = async () => undefined

  await wrapped() // first invocation connects
  const variants = {
    raw: () => raw.execute('select 1'),
    adapter: () => adapter.execute('select 1', undefined, undefined).then((r) => adapter.toResult(r)),
    dbQuery: () => db.query('select 1'),
    handlerQuery: () => wrapped(),
    plainNoop,
    handlerNoop: () => noopWrapped(),
  }
  const block = QUICK ? 1000 : 2000
  const rounds = QUICK ? 15 : 60
  const perCall = await interleave(variants, { block, rounds })
  const ns = Object.fromEntries(Object.entries(perCall).map(([n, v]) => [n, round(median(v), 1)]))
  const ratio = ratioOf(perCall, 'handlerQuery', 'raw')
  const stats = viaHandler.stats()
  const connects = stats.databases.default.connects + connected.stats().databases.default.connects
  const diagnostics = {
    block,
    rounds,
    medianNsPerCall: ns,
    ratios: {
      adapterVsRaw: round(ratioOf(perCall, 'adapter', 'raw')),
      dbQueryVsRaw: round(ratioOf(perCall, 'dbQuery', 'raw')),
      handlerQueryVsRaw: round(ratio),
      handlerQueryVsDbQuery: round(ratioOf(perCall, 'handlerQuery', 'dbQuery')),
    },
    // Paired per round (adjacent blocks), then the median.
    overheadNs: {
      adapter: diffOf(perCall, 'adapter', 'raw'),
      databaseAndConnection: diffOf(perCall, 'dbQuery', 'adapter'),
      handler: diffOf(perCall, 'handlerQuery', 'dbQuery'),
      handlerNoopVsPlainAsync: diffOf(perCall, 'handlerNoop', 'plainNoop'),
      total: diffOf(perCall, 'handlerQuery', 'raw'),
    },
    driverClientsCreated: connects,
  }
  await connected.disconnect()
  raw.close()
  adapter.close()
  return row({
    id: '1-libsql',
    name: 'Warm path overhead, libSQL :memory: (select 1)',
    baseline: 'client.execute("select 1") on a hand-made createClient({ url: ":memory:" })',
    measured: { lazydbNsPerCall: ns.handlerQuery, rawNsPerCall: ns.raw },
    ratio,
    target: '<= 1.03',
    pass: ratio <= 1.03,
    unit: 'median of per-round time ratios',
    diagnostics,
  })
}

const NETWORK_ROWS = {
  'neon-http': {
    title: 'Neon HTTP gateway',
    baseline: 'sql.query("select 1") on a hand-made neon(url, { fullResults: true }), same gateway',
  },
  'neon-ws': { title: 'Neon WebSocket gateway', baseline: 'pool.query("select 1") on a hand-made Pool, same gateway' },
}

/** The same comparison over a local gateway (no added delay), one call at a time. */
async function networkRow(target) {
  const { title, baseline } = NETWORK_ROWS[target]
  const id = `1-${target}`
  const name = `Warm path overhead, ${title} (select 1)`
  if (!available(target))
    return row({ id, name, baseline, target: '<= 1.03', skipped: 'dist/drivers/neon/index.js is not built yet' })
  const gw = await startGateway(target, { tag: `lazydb-bench-warm-${target}` })
  try {
    const { Registry, handler } = await import('@lazydb/core')
    const raw = await rawClient(target, gw.env)
    const registry = new Registry({ database: await lazydbDatabase(target, gw.env) })
    const wrapped = handler(registry, () => registry.database.query('select 1'))
    const connected = new Registry({ database: await lazydbDatabase(target, gw.env) })
    await connected.connect()
    await wrapped()
    const variants = {
      raw: () => raw.query('select 1'),
      dbQuery: () => connected.database.query('select 1'),
      handlerQuery: () => wrapped(),
    }
    const block = QUICK ? 50 : 100
    const rounds = QUICK ? 10 : 30
    const perCall = await interleave(variants, { block, rounds, warmupBlocks: 2 })
    const ns = Object.fromEntries(Object.entries(perCall).map(([n, v]) => [n, round(median(v), 0)]))
    const ratio = ratioOf(perCall, 'handlerQuery', 'raw')
    await connected.disconnect()
    await registry.disconnect({ force: true })
    await raw.close()
    return row({
      id,
      name,
      baseline,
      measured: { lazydbNsPerCall: ns.handlerQuery, rawNsPerCall: ns.raw },
      ratio,
      target: '<= 1.03',
      pass: ratio <= 1.03,
      unit: 'median of per-round time ratios',
      diagnostics: {
        block,
        rounds,
        medianNsPerCall: ns,
        ratios: { dbQueryVsRaw: round(ratioOf(perCall, 'dbQuery', 'raw')), handlerQueryVsRaw: round(ratio) },
      },
    })
  } finally {
    await gw.close()
  }
}

export async function run() {
  return [await libsqlRows(), await networkRow('neon-http'), await networkRow('neon-ws')]
}
