// `npm run bench [-- --quick] [-- --only=warm,cold,…]`: runs every benchmark row against the built
// package (dist/, rebuilt first when src/ is newer), each row module in its own process, prints one
// Markdown table and writes bench/results.json (a --quick or --only run writes bench/.work/ instead).
// Ratios only compare measurements made in this same run. Rows: bench/rows/*.mjs.
import { cpus, loadavg, release } from 'node:os'
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { QUICK, ROOT, buildSupport, runNode } from './lib/util.mjs'

const ROWS = [
  'warm',
  'tcp-warm',
  'cold',
  'tcp-cold',
  'roundtrips',
  'tcp-roundtrips',
  'bundle',
  'load',
  'import',
  'fleet',
]
const onlyArg = process.argv.find((a) => a.startsWith('--only='))
const only = onlyArg ? onlyArg.slice('--only='.length).split(',') : ROWS
const started = Date.now()
const loadAtStart = loadavg().map((x) => Number(x.toFixed(2)))
const log = (text) => process.stderr.write(`[bench] ${text}\n`)

function newestSource(dir) {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs)
  }
  return newest
}

async function ensureBuilt() {
  const built = existsSync(`${ROOT}dist/index.js`) ? statSync(`${ROOT}dist/index.js`).mtimeMs : 0
  if (built >= newestSource(`${ROOT}src`)) return { rebuilt: false }
  log('dist/ is missing or older than src/: running the build (node scripts/build.mjs)')
  const res = await runNode([`${ROOT}scripts/build.mjs`], { timeoutMs: 180_000 })
  if (res.code === 0) return { rebuilt: true }
  // esbuild writes dist/*.js before tsc runs, so a type error elsewhere still leaves runnable JS.
  if (existsSync(`${ROOT}dist/index.js`)) {
    log(`build reported errors; benchmarking the JavaScript it wrote:\n${(res.stdout + res.stderr).slice(-1200)}`)
    return { rebuilt: true, buildErrors: true }
  }
  throw new Error(`build failed:\n${res.stdout}${res.stderr}`)
}

function machine() {
  const cpu = cpus()[0]?.model ?? 'unknown'
  return {
    nproc: cpus().length,
    cpu,
    node: process.version,
    os: `${process.platform} ${release()}`,
    loadAverageAtStart: loadAtStart,
    loadAverageAtEnd: loadavg().map((x) => Number(x.toFixed(2))),
  }
}

const fmt = (n, unit = '') =>
  n === null || n === undefined ? '–' : `${typeof n === 'number' ? Number(n.toFixed(2)) : n}${unit}`

/** The two "measured" cells of the table: lazydb's value and the baseline's. */
function cells(r) {
  const m = r.measured ?? {}
  if (r.skipped) return ['skipped', r.skipped]
  if (r.id.startsWith('1-')) {
    const time = (ns) => (ns >= 1e6 ? `${fmt(ns / 1e6)} ms/call` : `${fmt(ns / 1000)} µs/call`)
    const handMade = m.handMadePoolNsPerCall
    if (handMade === undefined) return [time(m.lazydbNsPerCall), time(m.rawNsPerCall)]
    return [
      time(m.lazydbNsPerCall),
      `${time(m.rawNsPerCall)} (a second pool made by hand: ${time(handMade)}, ratio ${m.vsHandMadePool})`,
    ]
  }
  if (r.id.startsWith('2-') && m.poolMax !== undefined) {
    // The TCP drivers' cold burst (tcp-cold.mjs): pools made, connections against the pool's max.
    const connects = (x) => (x.registryConnects === null ? '' : ` (connects ${x.registryConnects})`)
    const side = (x) =>
      `${x.pools} pool${x.pools === 1 ? '' : 's'}${connects(x)}, ` +
      `${x.connectionsOpened} conns opened, ${x.peakOpen} open at most, server peak ${x.serverPeak} ` +
      `(max ${m.poolMax}), ${x.errors} errors`
    return [side(m.lazydb), `module-scope pool: ${side(m['module-scope'])}`]
  }
  if (r.id.startsWith('2-')) {
    const side = (x) => {
      const server = x.serverConnections === null ? '' : `, ${x.serverConnections} server conns`
      return `${x.driverClients} client${x.driverClients === 1 ? '' : 's'}${server}, ${x.errors} errors`
    }
    return [
      side(m.lazydb),
      `module-scope: ${side(m['module-scope'])}; without single-flight: ${side(m['lazy-racy'])}; ` +
        `per invocation: ${side(m['per-invocation'])}`,
    ]
  }
  if (r.id.startsWith('3-'))
    return [`first ${m.lazydbFirst} RT, warm ${m.lazydbWarm} RT`, `first ${m.rawFirst} RT, warm ${m.rawWarm} RT`]
  if (r.id === '4-core') return [`${m.gzipBytes} B gz, driver inputs: ${m.driverInputs.length}`, '–']
  if (r.id.startsWith('4-')) return [`${m.lazydbGzipBytes} B gz (+${m.addedGzipBytes} B)`, `${m.rawGzipBytes} B gz`]
  if (r.id.startsWith('5-')) {
    const conns = (v) => (v === null || v === undefined ? '' : `, peak ${v} conns`)
    const q = m.pairedRatios
    return [
      `${m.lazydbReqPerSec} req/s, p99 ${m.lazydbP99Ms} ms${conns(m.lazydbPeakConnections)}`,
      `best ${m.bestReqPerSec} req/s, p99 ${m.bestP99Ms} ms${conns(m.bestPeakConnections)} ` +
        `(geometric means over the same ${m.pairs} paired bursts; paired ratios min ${q.min}, p25 ${q.p25}, ` +
        `median ${q.median}, p75 ${q.p75}, max ${q.max}, sd ${q.sd}); ` +
        `naive ${m.naiveReqPerSec} req/s vs lazydb ${m.lazydbReqPerSecBesideNaive} in the same ${m.naivePairs} ` +
        `rounds (${m.vsNaive}x)${conns(m.naivePeakConnections)}`,
    ]
  }
  if (r.id === '6-import') return [`${m.coreMs} ms (bundled into one file: ${m.coreBundledMs} ms)`, `${m.floorMs} ms`]
  if (r.id.startsWith('6-import-')) {
    const i = m.addedInterval
    return [
      `+${m.addedMs} ms (p25 ${m.addedP25Ms}, p75 ${m.addedP75Ms}; 95 % CI of the median ${i.low}–${i.high}; ` +
        `in separate processes +${m.addedInSeparateProcessesMs} ms)`,
      `${m.rawMs} ms`,
    ]
  }
  if (r.id.startsWith('7-fleet')) {
    const side = (x) =>
      `${x.tooMany} "too many connections", ${x.otherErrors} other errors of ${x.invocations}; ` +
      `peak ${x.peakConnections} conns; ${(x.ms / 1000).toFixed(1)} s`
    return [side(m.lazydb), side(m.baseline)]
  }
  return [JSON.stringify(m), r.baseline ?? '']
}

function ratioCell(r) {
  if (r.ratio === null || r.ratio === undefined) return '–'
  const i = r.ratioInterval
  return i ? `${r.ratio.toFixed(3)} (95 % CI ${i.low.toFixed(3)}–${i.high.toFixed(3)})` : r.ratio.toFixed(3)
}

function passCell(r) {
  if (r.verdict === 'inconclusive') return 'inconclusive'
  return r.pass === null ? 'n/a' : r.pass ? 'yes' : '**no**'
}

function table(rows) {
  const lines = ['| # | Benchmark | lazydb | Baseline | Ratio | Target | Pass |', '|---|---|---|---|---|---|---|']
  for (const r of rows) {
    const [ours, theirs] = cells(r)
    lines.push(`| ${r.id} | ${r.name} | ${ours} | ${theirs} | ${ratioCell(r)} | ${r.target} | ${passCell(r)} |`)
  }
  return lines.join('\n')
}

const build = await ensureBuilt()
await buildSupport()
const rows = []
for (const name of only) {
  if (!ROWS.includes(name)) throw new Error(`unknown row ${name}; rows: ${ROWS.join(', ')}`)
  const t = Date.now()
  log(`running ${name}${QUICK ? ' (quick)' : ''}…`)
  const res = await runNode([`${ROOT}bench/lib/child.mjs`, name, ...(QUICK ? ['--quick'] : [])], {
    timeoutMs: QUICK ? 90_000 : 900_000,
  })
  const marker = res.stdout.lastIndexOf('@@ROWS@@')
  if (res.code !== 0 || marker < 0) {
    log(`${name} failed (exit ${res.code}):\n${res.stderr.slice(-1500)}`)
    rows.push({
      id: name,
      name: `${name} (failed to run)`,
      skipped: `the row crashed: ${res.stderr.trim().split('\n').slice(-3).join(' ').slice(0, 300)}`,
      target: '',
      pass: null,
      ratio: null,
    })
    continue
  }
  rows.push(
    ...JSON.parse(
      res.stdout
        .slice(marker + '@@ROWS@@'.length)
        .trim()
        .split('\n')[0],
    ),
  )
  log(`${name} done in ${((Date.now() - t) / 1000).toFixed(1)} s`)
}

if (only.includes('warm')) {
  log('profiling the warm path…')
  const res = await runNode([`${ROOT}bench/profile-warm.mjs`, ...(QUICK ? ['--quick'] : [])], { timeoutMs: 300_000 })
  const target = rows.find((r) => r.id === '1-libsql')
  if (target && res.code === 0) target.diagnostics = { ...target.diagnostics, profile: JSON.parse(res.stdout) }
  else if (res.code !== 0) log(`profiling failed: ${res.stderr.slice(-800)}`)
}

const results = {
  generatedAt: new Date().toISOString(),
  quick: QUICK,
  durationSeconds: Math.round((Date.now() - started) / 1000),
  machine: machine(),
  build,
  table: table(rows),
  rows,
}
// Only a full run of every row replaces bench/results.json (the numbers the README quotes).
const outFile =
  onlyArg === undefined && !QUICK ? 'bench/results.json' : `bench/.work/results-${QUICK ? 'quick' : 'partial'}.json`
writeFileSync(`${ROOT}${outFile}`, `${JSON.stringify(results, null, 2)}\n`)
const m = results.machine
console.log(
  `\nlazydb benchmarks${QUICK ? ' (quick)' : ''}: ${m.nproc} × ${m.cpu}, Node ${m.node}, ${m.os}, ` +
    `load average ${m.loadAverageAtStart[0]} → ${m.loadAverageAtEnd[0]}\n`,
)
console.log(table(rows))
console.log(
  `\n${rows.filter((r) => r.pass === true).length} pass, ${rows.filter((r) => r.pass === false).length} fail, ` +
    `${rows.filter((r) => r.verdict === 'inconclusive').length} inconclusive, ` +
    `${rows.filter((r) => r.pass === null && r.verdict !== 'inconclusive').length} skipped/n.a. — ` +
    `${results.durationSeconds} s; ${outFile} written`,
)
