// Diagnostics for row 1, printed as JSON and folded into results.json by run.mjs:
// - lazydb's own ns per call per layer with a null driver (nothing else in the loop);
// - CPU profiles (node --cpu-prof) of a tight warm libSQL loop, raw vs handler(), summarised by
//   self time per function, lazydb's frames flagged (files in bench/.work/prof/*.cpuprofile).
// `node bench/profile-warm.mjs [--quick]`
import { readdirSync, readFileSync, rmSync } from 'node:fs'
import { QUICK, ROOT, ensureWork, round, runNode } from './lib/util.mjs'

const VARIANTS = ['raw', 'handlerQuery']

/**
 * lazydb's own cost per layer with a null driver (a client whose query resolves at once), so no
 * driver time hides it: ns per call for the bare async call, Database/Connection, and handler().
 * (`--null <KB>` makes the null driver stream through that much memory per call, evicting caches
 * the way a real driver call does; too noisy on a shared machine to be part of the default run.)
 */
async function nullDriverLayers(thrashKB = 0) {
  const { Registry, handler, registerDriver } = await import('@lazydb/core')
  const { interleave } = await import('./rows/warm.mjs')
  const { median } = await import('./lib/util.mjs')
  const columns = ['1']
  const big = new Float64Array((thrashKB * 1024) / 8)
  const sink = { value: 0 }
  const thrash = () => {
    let sum = 0
    for (let i = 0; i < big.length; i += 8) sum += big[i]
    sink.value = sum
  }
  const rawCall = async () => (thrash(), { rows: [{ 1: 1 }], columns, rowsAffected: 0 })
  // The DriverClient shape (src/drivers/contract.ts): execute resolves to the driver's own result, toResult maps it.
  const client = {
    raw: rawCall,
    execute: rawCall,
    toResult: (native) => ({ rows: native.rows, rowCount: native.rows.length, columns: native.columns }),
    batch: async () => [],
    begin: async () => {
      throw new Error('none')
    },
    close: async () => {},
  }
  // Registered under 'libsql' in this process only (this process never loads the real driver).
  registerDriver({ name: 'libsql', classify: () => ({}), connect: async () => client })
  const viaHandler = new Registry({ database: 'file:/lazydb-bench-null-a' })
  const wrapped = handler(viaHandler, () => viaHandler.database.query('select 1'))
  const noop = handler(viaHandler, async () => undefined)
  const connected = new Registry({ database: 'file:/lazydb-bench-null-b' })
  await connected.connect()
  await wrapped()
  const perCall = await interleave(
    {
      driverCall: () => rawCall(),
      adapterCall: () => client.execute('select 1', undefined, undefined).then((r) => client.toResult(r)),
      dbQuery: () => connected.database.query('select 1'),
      handlerQuery: () => wrapped(),
      plainAsyncNoop: async () => undefined,
      handlerNoop: () => noop(),
    },
    { block: thrashKB > 0 ? 1000 : 20000, rounds: QUICK ? 10 : 30 },
  )
  const ns = Object.fromEntries(Object.entries(perCall).map(([k, v]) => [k, round(median(v), 1)]))
  // Paired per round (same round, adjacent blocks), then the median: steadier than a difference of medians.
  const diff = (a, b) => round(median(perCall[a].map((v, i) => v - perCall[b][i])), 1)
  return {
    thrashKB,
    nsPerCall: ns,
    overheadNs: {
      databaseAndConnection: diff('dbQuery', 'adapterCall'),
      handlerAroundQuery: diff('handlerQuery', 'dbQuery'),
      handlerAroundNoop: diff('handlerNoop', 'plainAsyncNoop'),
      total: diff('handlerQuery', 'adapterCall'),
    },
  }
}

async function loop(variant, calls) {
  const { createClient } = await import('@libsql/client')
  const { Registry, handler } = await import('@lazydb/core')
  const { libsql, libsqlDriver } = await import('@lazydb/core/libsql')
  let fn
  if (variant === 'raw') {
    const client = createClient({ url: ':memory:' })
    fn = () => client.execute('select 1')
  } else if (variant === 'adapter') {
    const client = await libsqlDriver.connect({
      alias: 'p',
      driver: 'libsql',
      url: ':memory:',
      options: {},
      secrets: [],
    })
    fn = () => client.execute('select 1', undefined, undefined).then((r) => client.toResult(r))
  } else if (variant === 'dbQuery') {
    const registry = new Registry({ database: libsql(':memory:') })
    await registry.connect()
    fn = () => registry.database.query('select 1')
  } else {
    const registry = new Registry({ database: libsql(':memory:') })
    fn = handler(registry, () => registry.database.query('select 1'))
  }
  for (let i = 0; i < 2000; i++) await fn()
  const started = process.hrtime.bigint()
  for (let i = 0; i < calls; i++) await fn()
  return Number(process.hrtime.bigint() - started) / calls
}

/** Self time per (function, file) over the whole profile, in percent of samples. */
export function summarise(profile) {
  const self = new Map()
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const counts = new Map()
  for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1)
  const total = profile.samples.length
  for (const [id, count] of counts) {
    const { callFrame } = byId.get(id)
    const file = callFrame.url.replace(`file://${ROOT}`, '').replace(/^node_modules\//, '')
    const key = `${callFrame.functionName || '(anonymous)'} ${file ? `${file}:${callFrame.lineNumber + 1}` : ''}`.trim()
    self.set(key, (self.get(key) ?? 0) + count)
  }
  const top = [...self.entries()].sort((a, b) => b[1] - a[1])
  const lazydb = top.filter(([k]) => k.includes(' dist/'))
  const pct = (n) => round((100 * n) / total, 2)
  return {
    samples: total,
    lazydbSelfPct: pct(lazydb.reduce((s, [, n]) => s + n, 0)),
    gcPct: pct(top.filter(([k]) => k.startsWith('(garbage collector)')).reduce((s, [, n]) => s + n, 0)),
    top: top.slice(0, 12).map(([k, n]) => `${pct(n)}% ${k}`),
    lazydbTop: lazydb.slice(0, 10).map(([k, n]) => `${pct(n)}% ${k}`),
  }
}

export async function profileAll() {
  const dir = ensureWork('prof')
  for (const f of readdirSync(dir)) rmSync(dir + f)
  const calls = QUICK ? 20000 : 80000
  const out = {}
  const layers = await runNode([`${ROOT}bench/profile-warm.mjs`, '--null', '0', ...(QUICK ? ['--quick'] : [])])
  out.nullDriver =
    layers.code === 0 ? JSON.parse(layers.stdout.trim().split('\n').pop()) : { error: layers.stderr.slice(-500) }
  for (const variant of VARIANTS) {
    const res = await runNode([
      '--cpu-prof',
      '--cpu-prof-interval=50',
      `--cpu-prof-dir=${dir}`,
      `--cpu-prof-name=${variant}.cpuprofile`,
      `${ROOT}bench/profile-warm.mjs`,
      '--loop',
      variant,
      String(calls),
    ])
    if (res.code !== 0) {
      out[`libsql-${variant}`] = { error: res.stderr.slice(-500) }
      continue
    }
    const nsPerCall = Number(res.stdout.trim().split('\n').pop())
    out[`libsql-${variant}`] = {
      nsPerCall: round(nsPerCall, 0),
      ...summarise(JSON.parse(readFileSync(`${dir}${variant}.cpuprofile`, 'utf8'))),
    }
  }
  return out
}

const loopAt = process.argv.indexOf('--loop')
const nullAt = process.argv.indexOf('--null')
if (nullAt > 0) {
  console.log(JSON.stringify(await nullDriverLayers(Number(process.argv[nullAt + 1]))))
} else if (loopAt > 0) {
  console.log(await loop(process.argv[loopAt + 1], Number(process.argv[loopAt + 2])))
} else if (process.argv[1]?.endsWith('profile-warm.mjs')) {
  console.log(JSON.stringify(await profileAll(), null, 2))
}
