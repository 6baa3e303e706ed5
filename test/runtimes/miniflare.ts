// Starts a built Worker bundle in workerd through Miniflare, for the runtime tests.
import { readFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Readable } from 'node:stream'
import { Miniflare } from 'miniflare'

const root = fileURLToPath(new URL('../..', import.meta.url))
export const COMPATIBILITY_DATE = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(
  readFileSync(`${root}wrangler.toml`, 'utf8'),
)![1]!

/**
 * A Worker in workerd, as wrangler.toml configures it, with its runtime output kept. The bundle is
 * given as an explicit module list, as wrangler hands it to Miniflare: these bundles are built from
 * src/ (scripts/build-functions.mjs aliases the package there), whose src/runtime-import.ts holds the
 * non-literal `import(specifier)` of lazydb's Node build, and with only a scriptPath Miniflare walks
 * the imports itself and rejects it. The built package's Worker build has none: see
 * `startWorkerByScriptPath`.
 */
export function startWorker(
  scriptPath: string,
  modulesRoot: string,
  bindings: Record<string, string>,
  more: WorkerOptions = {},
): { mf: Miniflare; output: string[] } {
  return start({ modules: [{ type: 'ESModule', path: scriptPath }], modulesRoot }, bindings, more)
}

/** A Worker in workerd from Miniflare's plain `scriptPath` option: Miniflare finds the modules itself. */
export function startWorkerByScriptPath(
  scriptPath: string,
  bindings: Record<string, string>,
): { mf: Miniflare; output: string[] } {
  return start({ scriptPath, modules: true, modulesRoot: dirname(scriptPath) }, bindings)
}

/** Miniflare's options beside plain bindings. */
export interface WorkerOptions {
  /** Hyperdrive bindings: name → the origin database's URL (with a password), forwarded by Miniflare. */
  hyperdrives?: Record<string, string>
}

function start(
  script:
    | { modules: [{ type: 'ESModule'; path: string }]; modulesRoot: string }
    | { scriptPath: string; modules: true; modulesRoot: string },
  bindings: Record<string, string>,
  more: WorkerOptions = {},
): { mf: Miniflare; output: string[] } {
  const output: string[] = []
  const collect = (stream: Readable) => stream.on('data', (chunk: Buffer) => output.push(chunk.toString()))
  const mf = new Miniflare({
    ...script,
    compatibilityDate: COMPATIBILITY_DATE,
    compatibilityFlags: ['nodejs_compat'],
    cf: false,
    bindings,
    ...more,
    handleRuntimeStdio: (stdout: Readable, stderr: Readable) => (collect(stdout), collect(stderr)),
  })
  return { mf, output }
}
