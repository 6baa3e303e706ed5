// Starts a built Worker bundle in workerd through Miniflare, for the runtime tests.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Readable } from 'node:stream'
import { Miniflare } from 'miniflare'

const root = fileURLToPath(new URL('../..', import.meta.url))
const COMPATIBILITY_DATE = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(
  readFileSync(`${root}wrangler.toml`, 'utf8'),
)![1]!

/**
 * A Worker in workerd, as wrangler.toml configures it, with its runtime output kept. The bundle is
 * given as an explicit module list, as wrangler hands it to Miniflare: `modules: true` with only a
 * scriptPath makes Miniflare walk the imports itself, and its walker rejects the non-literal
 * `import(specifier)` lazydb keeps for Node-only lazy loading (never reached in workerd).
 */
export function startWorker(
  scriptPath: string,
  modulesRoot: string,
  bindings: Record<string, string>,
): { mf: Miniflare; output: string[] } {
  const output: string[] = []
  const collect = (stream: Readable) => stream.on('data', (chunk: Buffer) => output.push(chunk.toString()))
  const mf = new Miniflare({
    modules: [{ type: 'ESModule', path: scriptPath }],
    modulesRoot,
    compatibilityDate: COMPATIBILITY_DATE,
    compatibilityFlags: ['nodejs_compat'],
    cf: false,
    bindings,
    handleRuntimeStdio: (stdout: Readable, stderr: Readable) => (collect(stdout), collect(stderr)),
  })
  return { mf, output }
}
