// Shared helpers for the benchmarks: timing statistics, paths, child processes, test-support loading.
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const WORK = `${ROOT}bench/.work/`
export const QUICK = process.argv.includes('--quick')

export function ensureWork(sub = '') {
  mkdirSync(`${WORK}${sub}`, { recursive: true })
  return sub === '' ? WORK : `${WORK}${sub}/`
}

export function median(values) {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(values, p) {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank]
}

export const round = (value, digits = 3) => (Number.isFinite(value) ? Number(value.toFixed(digits)) : value)
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** Whether a built driver subpath exists (colleagues add drivers over time). */
export function hasBuiltDriver(name) {
  return existsSync(`${ROOT}dist/drivers/${name}/index.js`)
}

/** Runs `node args…` and resolves with { code, stdout, stderr }; killed after timeoutMs. */
export function runNode(args, { timeoutMs = 120_000, env, cwd = ROOT } = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code: code ?? (signal ? 128 : 1), signal, stdout, stderr })
    })
  })
}

/**
 * The TypeScript test gateways, transpiled (not bundled) into bench/.work/support/ so plain Node 20
 * can import them; their packages (pg, ws, libsql, mysql2) resolve from the project's node_modules.
 */
export async function support(name) {
  const out = `${WORK}support/${name}.js`
  return import(out)
}

export async function buildSupport() {
  const { build } = await import('esbuild')
  const { readdirSync } = await import('node:fs')
  const dir = `${ROOT}test/support/`
  const entries = readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => dir + f)
  ensureWork('support')
  await build({
    entryPoints: entries,
    outdir: `${WORK}support`,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    bundle: false,
    logLevel: 'warning',
  })
}

/** A pg client kept open to sample pg_stat_activity cheaply while something else runs. */
export async function pgMonitor() {
  const { default: pg } = await import('pg')
  const client = new pg.Client({
    connectionString: 'postgres://postgres@127.0.0.1:5432/test',
    application_name: 'lazydb-bench-monitor',
  })
  client.on('error', () => {})
  await client.connect()
  const count = async (applicationName) => {
    const r = await client.query(
      "select count(*)::int as n from pg_stat_activity where datname = 'test' " +
        'and pid <> pg_backend_pid() and application_name = $1',
      [applicationName],
    )
    return r.rows[0].n
  }
  /** Samples every `everyMs` until stop(); resolves with the peak. */
  const sample = (applicationName, everyMs = 10) => {
    let peak = 0
    let running = true
    const loop = (async () => {
      while (running) {
        peak = Math.max(peak, await count(applicationName))
        await sleep(everyMs)
      }
      peak = Math.max(peak, await count(applicationName))
      return peak
    })()
    return {
      stop: () => ((running = false), loop),
      get peak() {
        return peak
      },
    }
  }
  /** Waits (bounded) until no backend with this application_name remains. */
  const drain = async (applicationName, timeoutMs = 5000) => {
    const deadline = Date.now() + timeoutMs
    let n = await count(applicationName)
    while (n > 0 && Date.now() < deadline) {
      await sleep(25)
      n = await count(applicationName)
    }
    return n
  }
  return { count, sample, drain, query: (text, params) => client.query(text, params), close: () => client.end() }
}

/**
 * Builds one result row in the shape results.json uses. A row judged on an interval passes a
 * `verdict` ('pass' | 'fail' | 'inconclusive') instead of `pass`; an inconclusive row has pass null.
 */
export function row(fields) {
  const { id, name, baseline, measured, ratio, ratioInterval, target, pass, verdict } = fields
  const { unit, notes, diagnostics, skipped } = fields
  const judged = verdict === undefined ? Boolean(pass) : verdict === 'inconclusive' ? null : verdict === 'pass'
  return {
    id,
    name,
    baseline,
    measured,
    ratio: ratio === undefined ? null : round(ratio, 3),
    ratioInterval,
    target,
    pass: skipped ? null : judged,
    verdict: skipped ? 'skipped' : (verdict ?? (judged ? 'pass' : 'fail')),
    unit,
    notes,
    diagnostics,
    skipped,
  }
}
