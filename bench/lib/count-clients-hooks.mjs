// Module hooks (registered by count-clients.mjs) that put a counting wrapper in front of each driver
// package. A driver client is one object a user (or lazydb) asks the package for: createClient(),
// neon(), connect(), or a direct `new Pool` / `new Client` / `new Connection`. Objects the package
// makes for itself (a Pool's pooled Clients, a PlanetScale Client's per-query Connection) and
// subclasses (lazydb's `pool.Client`) are not counted: those show up as server connections instead.
// `default`: how the package's default export is passed on — 'as-is' (pg, mysql2: CommonJS objects;
// the named exports are the counted entry points) or 'function' (postgres.js: the default export is
// the client factory, counted, with its properties copied).
const WRAPPED = {
  '@libsql/client': { functions: ['createClient'], classes: [] },
  '@neondatabase/serverless': { functions: ['neon'], classes: ['Pool', 'Client'] },
  '@planetscale/database': { functions: ['connect'], classes: ['Client', 'Connection'] },
  pg: { functions: [], classes: ['Pool', 'Client'], default: 'as-is' },
  'mysql2/promise': { functions: ['createPool', 'createConnection'], classes: [], default: 'as-is' },
  postgres: { functions: [], classes: [], default: 'function' },
}
const MARK = 'lazydb-bench-count='

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context)
  if (WRAPPED[specifier] === undefined || context.parentURL?.includes(MARK)) return resolved
  return { ...resolved, url: `${resolved.url}?${MARK}${encodeURIComponent(specifier)}`, shortCircuit: true }
}

export async function load(url, context, nextLoad) {
  const at = url.indexOf(`?${MARK}`)
  if (at < 0) return nextLoad(url, context)
  const pkg = decodeURIComponent(url.slice(at + MARK.length + 1))
  return { format: 'module', source: wrapper(pkg, url.slice(0, at)), shortCircuit: true }
}

function wrapper(pkg, realUrl) {
  const { functions, classes, default: defaultExport } = WRAPPED[pkg]
  const real = JSON.stringify(realUrl)
  const lines = [
    `import * as real from ${real}`,
    `export * from ${real}`,
    'const counts = (globalThis.__lazydbBenchDriverClients ??= {})',
    'const bump = (name) => { counts[name] = (counts[name] ?? 0) + 1 }',
  ]
  for (const name of functions) {
    const key = JSON.stringify(`${pkg} ${name}()`)
    lines.push(`export function ${name}(...args) { bump(${key}); return real.${name}(...args) }`)
  }
  for (const name of classes) {
    const key = JSON.stringify(`${pkg} new ${name}`)
    lines.push(
      `export class ${name} extends real.${name} {`,
      `  constructor(...args) { super(...args); if (new.target === ${name}) bump(${key}) }`,
      '}',
    )
  }
  if (defaultExport === 'as-is') lines.push('export default real.default')
  if (defaultExport === 'function') {
    const key = JSON.stringify(`${pkg} default()`)
    lines.push(
      `export default Object.assign(function (...args) { bump(${key}); return real.default(...args) }, real.default)`,
    )
  }
  return `${lines.join('\n')}\n`
}
