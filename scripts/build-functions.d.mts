import type { Metafile, Plugin } from 'esbuild'

export interface FunctionTarget {
  entry: string
  out: string
  platform: 'node' | 'browser' | 'neutral'
  conditions?: string[]
  external?: string[]
  minify?: boolean
}

export interface BuildOverrides extends Partial<FunctionTarget> {
  format?: 'esm' | 'iife'
  globalName?: string
  define?: Record<string, string>
  write?: boolean
  /** esbuild plugins, e.g. test/runtimes/workerd-require.ts's for CommonJS packages that require Node built-ins. */
  plugins?: Plugin[]
  /** Where to write the metafile (absolute), or false for nowhere. */
  metafilePath?: string | false
}

export declare const targets: Record<
  'node' | 'cloudflare' | 'vercel-edge' | 'vercel-node' | 'netlify' | 'aws-lambda',
  FunctionTarget
>
export declare function buildFunction(name: string, overrides?: BuildOverrides): Promise<Metafile>
