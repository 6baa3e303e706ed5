// Each platform's example bundle carries only the drivers its function uses, and lazydb's main
// entry carries none: checked from esbuild's metafile, built exactly as `npm run build:functions`
// builds (scripts/build-functions.mjs), but in memory.
import { describe, expect, it } from 'vitest'
import { build, type Metafile } from 'esbuild'
import { builtinModules } from 'node:module'
import { fileURLToPath } from 'node:url'
import { buildFunction, packagesIn, targets, type TargetName } from './helpers.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const DRIVERS = ['@neondatabase/serverless', '@planetscale/database', '@libsql/client', 'pg', 'mysql2', 'postgres']
const LAZYDB_DRIVERS = ['neon', 'planetscale', 'libsql', 'pg', 'mysql2', 'postgres'].map(
  (d) => `src/drivers/${d}/index.ts`,
)

/** What each deployable function uses; everything else must stay out of its bundle. */
const uses: Record<
  Exclude<TargetName, 'node'>,
  { driver: string; lazydb: string; nodeBuiltins: 'none' | 'compat' | 'any' }
> = {
  cloudflare: { driver: '@neondatabase/serverless', lazydb: 'src/drivers/neon/index.ts', nodeBuiltins: 'compat' },
  'vercel-edge': { driver: '@neondatabase/serverless', lazydb: 'src/drivers/neon/index.ts', nodeBuiltins: 'none' },
  'vercel-node': { driver: '@neondatabase/serverless', lazydb: 'src/drivers/neon/index.ts', nodeBuiltins: 'any' },
  'aws-lambda': { driver: '@neondatabase/serverless', lazydb: 'src/drivers/neon/index.ts', nodeBuiltins: 'any' },
  netlify: { driver: '@libsql/client', lazydb: 'src/drivers/libsql/index.ts', nodeBuiltins: 'any' },
}

const metafiles = new Map<string, Promise<Metafile>>()
const metafileOf = (name: TargetName) => {
  let meta = metafiles.get(name)
  if (meta === undefined) metafiles.set(name, (meta = buildFunction(name, { write: false, metafilePath: false })))
  return meta
}
const lazydbInputs = (meta: Metafile) => Object.keys(meta.inputs).filter((input) => input.startsWith('src/'))
/** Imports each bundle leaves to the runtime (node:* builtins, mostly). */
const externalImports = (meta: Metafile) =>
  [
    ...new Set(Object.values(meta.outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path))),
  ].sort()

describe('bundles (esbuild metafiles)', () => {
  it("@lazydb/core's main entry alone includes no driver package and no driver module (src/ and dist/)", async () => {
    // src/ through an alias; dist/ as a user's bundler resolves the package (exports; not tsconfig paths).
    for (const source of ['src', 'dist'] as const)
      for (const platform of ['node', 'browser', 'neutral'] as const) {
        const where = `${source}, ${platform}`
        const result = await build({
          stdin: {
            contents: "import { Registry, handler } from '@lazydb/core'\nexport { Registry, handler }",
            resolveDir: root,
            loader: 'ts',
          },
          bundle: true,
          write: false,
          metafile: true,
          format: 'esm',
          platform,
          mainFields: ['module', 'main'],
          ...(source === 'src' ? { alias: { '@lazydb/core': `${root}src/index.ts` } } : { tsconfigRaw: '{}' }),
          logLevel: 'silent',
        })
        expect(packagesIn(result.metafile), where).toEqual([])
        const inputs = Object.keys(result.metafile.inputs)
        expect(
          inputs.filter((i) => LAZYDB_DRIVERS.includes(i) || i.startsWith('dist/drivers/')),
          where,
        ).toEqual([])
        // esbuild's browser platform sets the `browser` condition: the Worker/edge core, no runtime loader.
        if (source === 'dist')
          expect(inputs, where).toEqual([platform === 'browser' ? 'dist/index.worker.js' : 'dist/index.js', '<stdin>'])
        const code = result.outputFiles[0]!.text
        // The package names appear as text (DRIVER_MISSING messages), never as something to load.
        for (const pkg of [...DRIVERS, 'ws'])
          expect(code, `${where}: ${pkg}`).not.toMatch(new RegExp(`(from|import\\(|require\\()\\s*["']${pkg}`))
      }
  })

  it('from dist/, a bundle of the core and a driver subpath holds one copy of the core, per platform', async () => {
    const cases = [
      { platform: 'node', conditions: [], core: 'dist/index.js' },
      { platform: 'neutral', conditions: [], core: 'dist/index.js' },
      { platform: 'neutral', conditions: ['workerd', 'worker', 'browser'], core: 'dist/index.worker.js' },
      { platform: 'browser', conditions: ['edge-light'], core: 'dist/index.worker.js' },
    ] as const
    for (const { platform, conditions, core } of cases) {
      const result = await build({
        stdin: {
          contents: "export { Registry } from '@lazydb/core'\nexport { libsql } from '@lazydb/core/libsql'",
          resolveDir: root,
          loader: 'ts',
        },
        bundle: true,
        write: false,
        metafile: true,
        format: 'esm',
        platform,
        conditions: [...conditions],
        external: ['@libsql/client'],
        tsconfigRaw: '{}',
        logLevel: 'silent',
      })
      const lazydb = Object.keys(result.metafile.inputs).filter((i) => i.startsWith('dist/'))
      expect(lazydb.sort(), `${platform} ${conditions.join(',')}`).toEqual(
        [core, 'dist/drivers/libsql/index.js'].sort(),
      )
    }
  })

  for (const [name, expected] of Object.entries(uses) as [keyof typeof uses, (typeof uses)[keyof typeof uses]][]) {
    it(`${name} (${targets[name].entry}) carries ${expected.driver} and no other driver`, async () => {
      const meta = await metafileOf(name)
      const packages = packagesIn(meta)
      expect(packages).toContain(expected.driver)
      for (const other of DRIVERS.filter((d) => d !== expected.driver)) expect(packages).not.toContain(other)
      const modules = lazydbInputs(meta)
      expect(modules).toContain(expected.lazydb)
      for (const other of LAZYDB_DRIVERS.filter((d) => d !== expected.lazydb)) expect(modules).not.toContain(other)
      const externals = externalImports(meta)
      if (expected.nodeBuiltins === 'none') expect(externals).toEqual([])
      // nodejs_compat provides these in workerd; anything else would fail at deploy.
      if (expected.nodeBuiltins === 'compat')
        for (const path of externals)
          expect(['node:async_hooks', 'node:events', 'node:buffer', 'node:crypto']).toContain(path)
      // Node builtins, and ws's optional native add-ons, which it requires inside try/catch.
      if (expected.nodeBuiltins === 'any')
        for (const path of externals)
          expect(
            builtinModules.includes(path.replace(/^node:/, '')) || ['bufferutil', 'utf-8-validate'].includes(path),
            path,
          ).toBe(true)
    })
  }

  it('edge and workerd bundles carry no WebSocket polyfill for Node (they have a global WebSocket)', async () => {
    for (const name of ['cloudflare', 'vercel-edge'] as const)
      expect(packagesIn(await metafileOf(name)), name).not.toContain('ws')
  })
})
