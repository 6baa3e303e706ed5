// Row 1 for the TCP drivers: warm-path overhead against the real local server. A handler()-wrapped
// `select 1` through registry.database.query on a warm pool, against the driver's own call (pg
// pool.query, mysql2 pool.query, postgres.js sql.unsafe), in interleaved blocks (warm.mjs's
// interleave). The judged baseline is the driver's own call on the SAME pool (the one client() hands
// out): on this 2-core machine a ping-pong `select 1` costs what the scheduler makes of the two
// processes, and two pools' connections land differently (two identical hand-made pools in one process
// ran 19 % apart in one check, and in this row a second pool runs at half the time of the first), which
// would swamp lazydb's own cost. A pool made by hand at module scope
// is measured too and reported beside it. The ratio is the median of per-round ratios, with a seeded
// bootstrap interval of that median; the verdict comes from the interval.
import { bootstrapInterval, verdictAtMost } from '../lib/stats.mjs'
import { POOL_MAX, TCP_TARGETS, lazydbTcpDatabase, prepareServer, rawTcpClient, tcpUrl } from '../lib/tcp-drivers.mjs'
import { QUICK, hasBuiltDriver, median, round, row } from '../lib/util.mjs'
import { interleave } from './warm.mjs'

const TARGET_RATIO = 1.03
const BOOTSTRAP_SEED = 20260502
const BASELINES = {
  pg: `pool.query("select 1") on the same pg Pool (max ${POOL_MAX}), by hand`,
  postgres: `sql.unsafe("select 1") on the same postgres.js sql (max ${POOL_MAX}), by hand`,
  mysql2: `pool.query("select 1") on the same mysql2/promise Pool (max ${POOL_MAX}), by hand`,
}

async function warmRow(target) {
  const id = `1-${target}`
  const name = `Warm path overhead, ${TCP_TARGETS[target].label} (select 1)`
  const baseline = BASELINES[target]
  const goal = `<= ${TARGET_RATIO}`
  if (!hasBuiltDriver(TCP_TARGETS[target].subpath)) {
    return row({ id, name, baseline, target: goal, skipped: `dist/drivers/${target}/index.js is not built yet` })
  }
  try {
    await prepareServer(target)
  } catch (error) {
    return row({ id, name, baseline, target: goal, skipped: `server not reachable: ${error.message}` })
  }
  const env = { BENCH_URL: tcpUrl(target, { tag: `lazydb-bench-warm-${target}` }) }
  const { Registry, handler } = await import('@lazydb/core')
  const raw = await rawTcpClient(target, env)
  const registry = new Registry({ database: await lazydbTcpDatabase(target, env) })
  const wrapped = handler(registry, () => registry.database.query('select 1'))
  const connected = new Registry({ database: await lazydbTcpDatabase(target, env) })
  try {
    await connected.connect()
    await wrapped()
    await raw.call('select 1')
    const own = await connected.database.client()
    const ownCall = target === 'postgres' ? () => own.unsafe('select 1') : () => own.query('select 1')
    const variants = {
      raw: ownCall,
      rawOwnPool: () => raw.call('select 1'),
      dbQuery: () => connected.database.query('select 1'),
      handlerQuery: () => wrapped(),
    }
    const block = QUICK ? 50 : 100
    const rounds = QUICK ? 10 : 40
    const perCall = await interleave(variants, { block, rounds, warmupBlocks: 3 })
    const ns = Object.fromEntries(Object.entries(perCall).map(([n, v]) => [n, round(median(v), 0)]))
    const ratios = perCall.handlerQuery.map((v, i) => v / perCall.raw[i])
    const dbRatios = perCall.dbQuery.map((v, i) => v / perCall.raw[i])
    const separateRatios = perCall.handlerQuery.map((v, i) => v / perCall.rawOwnPool[i])
    const ratio = median(ratios)
    const interval = bootstrapInterval([ratios], median, { seed: BOOTSTRAP_SEED })
    // The two registries share one warm pool by key: whichever connected first made it.
    const connects = registry.stats().databases.default.connects + connected.stats().databases.default.connects
    return row({
      id,
      name,
      baseline,
      measured: {
        lazydbNsPerCall: ns.handlerQuery,
        rawNsPerCall: ns.raw,
        handMadePoolNsPerCall: ns.rawOwnPool,
        vsHandMadePool: round(median(separateRatios)),
      },
      ratio,
      ratioInterval: { low: round(interval.low), high: round(interval.high), level: interval.level },
      target: `${goal} (95 % CI of the median per-round ratio)`,
      verdict: verdictAtMost(interval, TARGET_RATIO),
      unit:
        `median of ${rounds} per-round time ratios (blocks of ${block} sequential calls, order rotating), ` +
        'handler() + registry.database.query / the raw call; interval: seeded bootstrap of the median',
      diagnostics: {
        block,
        rounds,
        medianNsPerCall: ns,
        ratios: {
          dbQueryVsRaw: round(median(dbRatios)),
          handlerQueryVsRaw: round(ratio),
          handlerQueryVsHandMadePool: round(median(separateRatios)),
        },
        overheadNs: { total: round(median(perCall.handlerQuery.map((v, i) => v - perCall.raw[i])), 0) },
        perRoundRatios: ratios.map((r) => round(r)),
        poolsMadeByLazydb: connects,
      },
    })
  } finally {
    await connected.disconnect().catch(() => {})
    await registry.disconnect({ force: true }).catch(() => {})
    await raw.close()
  }
}

export async function run() {
  const rows = []
  for (const target of Object.keys(TCP_TARGETS)) rows.push(await warmRow(target))
  return rows
}
