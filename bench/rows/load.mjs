// Row 5: load. The notes function served over local HTTP at concurrency 64 for a fixed number of
// requests (every fifth a POST), per transport: lazydb vs a hand-written module-scope client
// (best practice) vs connect-per-request. Each variant is its own server process with its own
// gateway; all stay up while bursts of requests alternate between them (lazydb and best practice
// back to back, in alternating order; naive every few rounds), so noise hits every variant alike,
// and the whole set is restarted for each session. Every figure compared is paired: the ratio is the
// geometric mean of the paired burst ratios (lazydb / best practice of the same round), which is
// exactly the ratio of the two req/s cells (geometric means over the same bursts). Its 95 % interval
// is a seeded two-stage bootstrap (sessions, then rounds within them); the row passes only when the
// interval's lower bound clears the target, fails when its upper bound misses it, else it is
// inconclusive. p99 is over all measured requests; peak server connections come from
// pg_stat_activity (by application_name), the highest of any session.
import { spawn } from 'node:child_process'
import http from 'node:http'
import { QUICK, ROOT, percentile, pgMonitor, round, row, sleep, support } from '../lib/util.mjs'
import { bootstrapInterval, combineVerdicts, geomean, spread, verdictAtLeast } from '../lib/stats.mjs'
import { TARGETS, available, startGateway } from '../lib/drivers.mjs'

const CONCURRENCY = 64
const BURST = QUICK ? 200 : 400
// Rounds per session; each session runs on fresh server processes and gateways.
const ROUNDS = QUICK ? 4 : 6
const SESSIONS = QUICK ? 1 : 6
const TOTAL = BURST * ROUNDS * SESSIONS
// Naive is 3-6x slower and only needs coarse precision: a burst every NAIVE_EVERY rounds.
const NAIVE_EVERY = QUICK ? 2 : 4
const NAIVE_TOTAL = BURST * Math.ceil(ROUNDS / NAIVE_EVERY) * SESSIONS
const WARMUP = QUICK ? 200 : 1200
const POOL_MAX = 10
const VARIANTS = ['lazydb', 'pool', 'naive']
const LOAD_TARGETS = process.env.BENCH_LOAD_TARGETS?.split(',') ?? ['neon-ws', 'neon-http']
const TARGET_VS_BEST = 0.97
const TARGET_VS_NAIVE = 3
const BOOTSTRAP_SEED = 20260501

function startServer(target, variant, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`${ROOT}bench/load-server.mjs`, target, variant], {
      cwd: ROOT,
      env: { ...process.env, ...env, BENCH_POOL_MAX: String(POOL_MAX) },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    const timer = setTimeout(
      () => (child.kill('SIGKILL'), reject(new Error(`server ${target}/${variant} did not start: ${err.slice(-300)}`))),
      20_000,
    )
    child.stderr.on('data', (d) => (err += d))
    child.stdout.on('data', (d) => {
      out += d
      const m = /port=(\d+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve({
          port: Number(m[1]),
          stderr: () => err,
          stop: () =>
            new Promise((done) => {
              const kill = setTimeout(() => child.kill('SIGKILL'), 5000)
              child.once('exit', () => (clearTimeout(kill), done()))
              child.kill('SIGTERM')
            }),
        })
      }
    })
    child.once(
      'exit',
      (code) => (
        clearTimeout(timer), reject(new Error(`server ${target}/${variant} exited (${code}): ${err.slice(-300)}`))
      ),
    )
  })
}

const maxOf = (a, b) => (a === undefined ? b : b === undefined ? a : Math.max(a, b))

/** `total` requests over `CONCURRENCY` keep-alive connections; latencies in ms. */
async function load(port, total) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY })
  const latencies = []
  let errors = 0
  let firstError
  let next = 0
  const one = (i) =>
    new Promise((resolve) => {
      const post = i % 5 === 4
      const body = post ? JSON.stringify({ body: `note ${i}` }) : undefined
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          path: '/notes',
          method: post ? 'POST' : 'GET',
          agent,
          headers: post ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {},
        },
        (res) => {
          let text = ''
          res.setEncoding('utf8')
          res.on('data', (d) => (text.length < 300 ? (text += d) : undefined))
          res.on('end', () => resolve([res.statusCode, text]))
        },
      )
      req.setTimeout(15_000, () => req.destroy(new Error('timeout')))
      req.on('error', (e) => resolve([0, e.message]))
      req.end(body)
    })
  const worker = async () => {
    while (next < total) {
      const i = next++
      const started = performance.now()
      const [status, text] = await one(i)
      latencies.push(performance.now() - started)
      if (status < 200 || status >= 300) {
        errors++
        firstError ??= `${status} ${text.slice(0, 200)}`
      }
    }
  }
  const started = performance.now()
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  const seconds = (performance.now() - started) / 1000
  agent.destroy()
  return { reqPerSec: total / seconds, latencies, errors, firstError }
}

/** The server process's CPU time so far (µs). */
function cpuMicros(port) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/__cpu' }, (res) => {
      let text = ''
      res.on('data', (d) => (text += d))
      res.on('end', () => resolve(JSON.parse(text).micros))
    })
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')))
    req.on('error', reject)
  })
}

/** One measured burst: throughput, latencies, and the server's CPU µs per request. */
async function burst(port, total) {
  const before = await cpuMicros(port)
  const result = await load(port, total)
  result.cpuMicrosPerRequest = ((await cpuMicros(port)) - before) / total
  return result
}

async function prepareTable(target, env) {
  if (target === 'libsql-file') {
    const { createClient } = await import('@libsql/client')
    const client = createClient({ url: env.BENCH_URL })
    await client.execute(
      'create table if not exists bench_notes (id integer primary key autoincrement, body text not null, ' +
        'created_at text not null default current_timestamp)',
    )
    await client.execute('delete from bench_notes')
    await client.batch(
      Array.from({ length: 100 }, (_, i) => ({
        sql: 'insert into bench_notes (body) values (?)',
        args: [`seed ${i}`],
      })),
      'write',
    )
    client.close()
    return
  }
  const { default: pg } = await import('pg')
  const { PG_URL } = await support('postgres')
  const client = new pg.Client({ connectionString: PG_URL })
  await client.connect()
  await client.query(
    'create table if not exists bench_notes (id bigserial primary key, body text not null, ' +
      'created_at timestamptz not null default now())',
  )
  await client.query('truncate bench_notes restart identity')
  await client.query("insert into bench_notes (body) select 'seed ' || g from generate_series(1, 100) g")
  await client.end()
}

/** A variant's server and its own gateway (own application_name, so its connections are counted apart). */
async function startVariant(target, variant, pg) {
  const tag = `lazydb-bench-load-${target}-${variant}`
  const gw = await startGateway(target, { tag })
  if (target === 'libsql-file') gw.env.BENCH_URL = `file:${ROOT}bench/.work/db/load.db`
  let server
  try {
    server = await startServer(target, variant, gw.env)
  } catch (error) {
    await gw.close()
    throw error
  }
  let peakOpen = 0
  let sampling = true
  const sampler = (async () => {
    while (sampling) {
      if (gw.openServerConnections) peakOpen = Math.max(peakOpen, gw.openServerConnections())
      await sleep(5)
    }
  })()
  const pgPeak = gw.applicationName ? pg.sample(gw.applicationName, 20) : undefined
  return {
    port: server.port,
    async stop() {
      sampling = false
      await sampler
      const pgPeakConnections = pgPeak ? await pgPeak.stop() : undefined
      await server.stop()
      await gw.close()
      if (gw.applicationName) await pg.drain(gw.applicationName)
      return { pgPeak: pgPeakConnections, peakOpenGateway: gw.openServerConnections ? peakOpen : undefined }
    },
  }
}

/** One session: fresh servers for every variant; measured bursts tagged with session and round. */
async function runSession(target, session, pg, runs, peaks) {
  // All three servers stay up, idle but for the one under load; bursts alternate between them
  // (order rotating each round), so machine noise hits every variant alike. Each session starts
  // fresh processes and gateways: a process's own luck (JIT, heap layout) persists for its
  // life and would otherwise bias the whole run one way (an A/A run of one session: 0.94-1.02).
  const servers = {}
  try {
    for (const v of VARIANTS) servers[v] = await startVariant(target, v, pg)
    for (const v of VARIANTS) await load(servers[v].port, v === 'naive' ? Math.min(WARMUP, 200) : WARMUP)
    for (let round = 0; round < ROUNDS; round++) {
      // lazydb and best practice back to back (alternating which goes first), then naive now and then.
      for (const v of round % 2 === 0 ? ['lazydb', 'pool'] : ['pool', 'lazydb'])
        runs[v].push({ session, round, ...(await burst(servers[v].port, BURST)) })
      if (round % NAIVE_EVERY === 0) runs.naive.push({ session, round, ...(await burst(servers.naive.port, BURST)) })
    }
  } finally {
    for (const v of Object.keys(servers)) {
      const p = await servers[v].stop()
      peaks[v] = {
        pgPeak: maxOf(peaks[v]?.pgPeak, p.pgPeak),
        peakOpenGateway: maxOf(peaks[v]?.peakOpenGateway, p.peakOpenGateway),
      }
    }
  }
}

/**
 * Pairs each burst of `a` with the burst of `b` from the same session and round, and measures
 * `value(a) / value(b)`: the geometric mean (= ratio of the two sides' geometric means over the
 * paired bursts), its bootstrap interval, and the spread of the paired ratios.
 */
function pairedComparison(a, b, value) {
  const key = (x) => `${x.session}/${x.round}`
  const partner = new Map(b.map((x) => [key(x), x]))
  const pairs = a.filter((x) => partner.has(key(x))).map((x) => [x, partner.get(key(x))])
  const ratios = pairs.map(([x, y]) => value(x) / value(y))
  const bySession = new Map()
  for (const [i, [x]] of pairs.entries()) bySession.set(x.session, [...(bySession.get(x.session) ?? []), ratios[i]])
  const interval = bootstrapInterval([...bySession.values()], geomean, { seed: BOOTSTRAP_SEED })
  return {
    pairs: pairs.length,
    ratio: geomean(ratios),
    interval: { low: round(interval.low, 3), high: round(interval.high, 3), level: interval.level },
    spread: Object.fromEntries(Object.entries(spread(ratios)).map(([k, v]) => [k, round(v, 3)])),
    a: geomean(pairs.map(([x]) => value(x))),
    b: geomean(pairs.map(([, y]) => value(y))),
    ratios: ratios.map((r) => round(r, 3)),
  }
}

/** Per variant: latency percentiles over all its requests, errors and peak connections. */
function variantSummary(rs, peak) {
  const latencies = rs.flatMap((x) => x.latencies)
  return {
    bursts: rs.length,
    p99Ms: round(percentile(latencies, 99), 1),
    p50Ms: round(percentile(latencies, 50), 1),
    errors: rs.reduce((s, x) => s + x.errors, 0),
    firstError: rs.find((x) => x.firstError)?.firstError,
    peakPgConnections: peak?.pgPeak,
    peakGatewayConnections: peak?.peakOpenGateway,
  }
}

function skippedRow(id, name, target) {
  return row({
    id,
    name,
    baseline: 'module-scope client; connect-per-request',
    target: `>= ${TARGET_VS_BEST} best practice, >= ${TARGET_VS_NAIVE}x naive, connections <= pool max`,
    skipped: `dist/drivers/${TARGETS[target].subpath}/index.js is not built yet`,
  })
}

function loadRow(id, name, target, runs, peaks) {
  const reqPerSec = (x) => x.reqPerSec
  const vsBest = pairedComparison(runs.lazydb, runs.pool, reqPerSec)
  const vsNaive = pairedComparison(runs.lazydb, runs.naive, reqPerSec)
  // CPU per request in the server process: what throughput depends on when the machine is saturated.
  const cpu = pairedComparison(runs.lazydb, runs.pool, (x) => x.cpuMicrosPerRequest)
  const summary = Object.fromEntries(VARIANTS.map((v) => [v, variantSummary(runs[v], peaks[v])]))
  // HTTP transports hold no client connection: connect-per-request costs nothing there, so the
  // 3x-naive target only applies where a connection is set up (WebSocket).
  const naiveApplies = target === 'neon-ws'
  // Pool max: lazydb's and the baseline's Pool for WebSocket; the gateway's pg pool (5) for HTTP.
  const poolMax = target === 'neon-ws' ? POOL_MAX : target === 'neon-http' ? 5 : undefined
  const peak = summary.lazydb.peakPgConnections
  const connectionsOk = poolMax === undefined || peak === undefined || peak <= poolMax
  const verdict = combineVerdicts([
    verdictAtLeast(vsBest.interval, TARGET_VS_BEST),
    naiveApplies ? verdictAtLeast(vsNaive.interval, TARGET_VS_NAIVE) : 'pass',
    connectionsOk && summary.lazydb.errors === 0 ? 'pass' : 'fail',
  ])
  const bestPractice =
    target === 'neon-ws' ? `Pool({ max: ${POOL_MAX} })` : target === 'neon-http' ? 'neon()' : 'createClient()'
  return row({
    id,
    name,
    baseline: `best practice: module-scope ${bestPractice}; naive: a client per request`,
    measured: {
      pairs: vsBest.pairs,
      lazydbReqPerSec: round(vsBest.a, 0),
      bestReqPerSec: round(vsBest.b, 0),
      pairedRatios: vsBest.spread,
      naivePairs: vsNaive.pairs,
      naiveReqPerSec: round(vsNaive.b, 0),
      lazydbReqPerSecBesideNaive: round(vsNaive.a, 0),
      vsNaive: round(vsNaive.ratio, 2),
      vsNaiveInterval: vsNaive.interval,
      lazydbP99Ms: summary.lazydb.p99Ms,
      bestP99Ms: summary.pool.p99Ms,
      naiveP99Ms: summary.naive.p99Ms,
      lazydbServerCpuUsPerReq: round(cpu.a, 0),
      bestServerCpuUsPerReq: round(cpu.b, 0),
      serverCpuRatio: round(cpu.ratio, 3),
      serverCpuRatioInterval: cpu.interval,
      lazydbPeakConnections: peak ?? null,
      bestPeakConnections: summary.pool.peakPgConnections ?? null,
      naivePeakConnections: summary.naive.peakPgConnections ?? null,
      poolMax: poolMax ?? null,
      errors: summary.lazydb.errors + summary.pool.errors + summary.naive.errors,
    },
    ratio: vsBest.ratio,
    ratioInterval: vsBest.interval,
    target:
      `95 % CI of the paired ratio >= ${TARGET_VS_BEST} of best practice` +
      `${naiveApplies ? `, >= ${TARGET_VS_NAIVE}x naive` : ''}` +
      `${poolMax ? `, peak connections <= ${poolMax}` : ''}, no errors`,
    verdict,
    unit:
      `ratio = geometric mean of ${vsBest.pairs} paired bursts ` +
      `(${SESSIONS} sessions of fresh server processes × ${ROUNDS} rounds) of req/s, lazydb / best practice ` +
      `(${BURST}-request bursts; ${TOTAL} requests each, naive ${NAIVE_TOTAL}); req/s cells are the geometric ` +
      'means over the same pairs; interval: two-stage bootstrap (sessions, then rounds), seeded',
    notes: naiveApplies
      ? undefined
      : 'naive baseline shown for reference: over HTTP a new client per request opens no connection, ' +
        `so the ${TARGET_VS_NAIVE}x target does not apply`,
    diagnostics: {
      concurrency: CONCURRENCY,
      requests: TOTAL,
      naiveRequests: NAIVE_TOTAL,
      burst: BURST,
      warmup: WARMUP,
      rounds: ROUNDS,
      sessions: SESSIONS,
      medianPairedRatio: vsBest.spread.median,
      sessionRatios: Array.from({ length: SESSIONS }, (_, k) =>
        round(geomean(vsBest.ratios.slice(k * ROUNDS, (k + 1) * ROUNDS)), 3),
      ),
      summary,
      pairedRatios: vsBest.ratios,
      pairedNaiveRatios: vsNaive.ratios,
      pairedServerCpuRatios: cpu.ratios,
      serverCpuPairedSpread: cpu.spread,
      perRoundReqPerSec: Object.fromEntries(VARIANTS.map((v) => [v, runs[v].map((x) => round(x.reqPerSec, 0))])),
    },
  })
}

export async function run() {
  const rows = []
  const pg = await pgMonitor()
  try {
    for (const target of LOAD_TARGETS) {
      const id = `5-${target}`
      const name = `Load, notes function at concurrency ${CONCURRENCY}: ${TARGETS[target].label}`
      if (!available(target)) {
        rows.push(skippedRow(id, name, target))
        continue
      }
      await prepareTable(target, target === 'libsql-file' ? { BENCH_URL: `file:${ROOT}bench/.work/db/load.db` } : {})
      const runs = Object.fromEntries(VARIANTS.map((v) => [v, []]))
      const peaks = {}
      for (let session = 0; session < SESSIONS; session++) await runSession(target, session, pg, runs, peaks)
      rows.push(loadRow(id, name, target, runs, peaks))
    }
  } finally {
    await pg.close()
  }
  return rows
}
