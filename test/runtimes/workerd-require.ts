// What wrangler does with nodejs_compat for CommonJS packages bundled into a Worker (node-postgres:
// `require('events')`, `require('net')`, …): Node's built-ins stay `node:*` imports for workerd to
// provide, and a `require()` of one becomes a small module whose `module.exports` is the built-in's
// default export. Without it esbuild cannot resolve them on the browser platform, and an ESM bundle's
// `require()` throws "Dynamic require of "events" is not supported".
import { builtinModules } from 'node:module'
import type { Plugin } from 'esbuild'

const NAMESPACE = 'workerd-required-node-builtin'
const BUILTIN = new RegExp(`^(node:)?(${builtinModules.map((m) => m.replace(/[/]/g, '\\/')).join('|')})$`)

/**
 * esbuild plugin: a `require()` of a Node built-in becomes `import d from 'node:x'; module.exports = d`,
 * and an `import` of one the external `node:x`, as wrangler bundles with nodejs_compat.
 * @example
 * await buildFunction('cloudflare', { entry: 'worker.ts', out, plugins: [workerdNodeBuiltins] })
 */
export const workerdNodeBuiltins: Plugin = {
  name: 'workerd-node-builtins',
  setup(build) {
    build.onResolve({ filter: BUILTIN }, (args) => {
      const name = args.path.startsWith('node:') ? args.path : `node:${args.path}`
      if (args.kind === 'require-call') return { path: name, namespace: NAMESPACE }
      return { path: name, external: true }
    })
    build.onLoad({ filter: /.*/, namespace: NAMESPACE }, (args) => ({
      contents: `import builtin from ${JSON.stringify(args.path)}; module.exports = builtin;`,
      loader: 'js',
    }))
  },
}
