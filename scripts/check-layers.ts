// The folder layering of ../STYLE.md, enforced by `npm run lint`: data flows config → db → schema → state →
// plan → validate → sync → schedule → cli, and a folder imports only from itself and the folders before it.
// errors.ts and observe/ are the floor everyone may use (and they import nothing above them); nothing
// imports cli/. biome's noRestrictedImports matches import specifiers as written ('../sync/codec.js'), so a
// rule per folder would depend on each file's depth; this check resolves every import (static, dynamic,
// `export … from`, type-only) to the file it names and compares folders instead.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, posix, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

/** The layers in order; a folder may import from itself and from the folders before it. */
export const LAYERS = ['config', 'db', 'schema', 'state', 'plan', 'validate', 'sync', 'schedule', 'cli']
/** Modules every layer may import; they themselves import only each other. */
export const FLOOR = ['errors.ts', 'observe']

/**
 * Today's offenders, as `importer -> imported` (paths under src/). Shrinks to nothing: issue 16.
 * Never add an entry; an entry that no longer matches an import fails the check, so remove it.
 */
export const ALLOWED: readonly string[] = []

export interface SourceFile {
  /** Path relative to src/, with forward slashes: 'sync/run.ts'. */
  path: string
  text: string
}

export interface LayerReport {
  violations: string[]
  staleAllowed: string[]
}

/** The top-level unit a src/ path belongs to: its folder, or the file itself at the root. */
function unitOf(path: string): string {
  return path.split('/')[0]!
}

/** Why `from` may not import `to`, or undefined when it may. */
export function layerError(from: string, to: string): string | undefined {
  const a = unitOf(from)
  const b = unitOf(to)
  if (a === b) return undefined
  const floorA = FLOOR.includes(a)
  if (FLOOR.includes(b)) return undefined
  if (floorA) return `${a} is the floor and imports nothing above it`
  const ia = LAYERS.indexOf(a)
  const ib = LAYERS.indexOf(b)
  if (ia < 0) return `${a} is in no layer: add it to LAYERS in scripts/check-layers.ts`
  if (ib < 0) return `${b} is in no layer: add it to LAYERS in scripts/check-layers.ts`
  if (ib > ia) return `${a}/ comes before ${b}/ in the layering, so it may not import it`
  return undefined
}

/** The src/-relative paths a file imports (relative specifiers only; packages are not layered). */
export function importsOf(file: SourceFile): string[] {
  const info = ts.preProcessFile(file.text, true, true)
  const out: string[] = []
  for (const ref of info.importedFiles) {
    if (!ref.fileName.startsWith('.')) continue
    const target = posix.normalize(posix.join(posix.dirname(file.path), ref.fileName))
    out.push(target.replace(/\.js$/, '.ts'))
  }
  return out
}

/** Every import that breaks the layering and is not allowed, and every allow-list entry no longer used. */
export function checkLayers(files: SourceFile[], allowed: readonly string[] = ALLOWED): LayerReport {
  const violations: string[] = []
  const used = new Set<string>()
  for (const file of files) {
    for (const target of importsOf(file)) {
      if (target.startsWith('..')) {
        violations.push(`src/${file.path} imports ${target}, outside src/`)
        continue
      }
      const why = layerError(file.path, target)
      if (why === undefined) continue
      const edge = `${file.path} -> ${target}`
      if (allowed.includes(edge)) used.add(edge)
      else violations.push(`src/${file.path} imports src/${target}: ${why}`)
    }
  }
  return { violations, staleAllowed: allowed.filter((e) => !used.has(e)) }
}

function listTs(dir: string, root: string): SourceFile[] {
  const out: SourceFile[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...listTs(full, root))
    else if (entry.name.endsWith('.ts'))
      out.push({ path: relative(root, full).split(sep).join('/'), text: readFileSync(full, 'utf8') })
  }
  return out
}

/**
 * Files of more than `max` physical lines. Biome's noExcessiveLinesPerFile does not count the line breaks
 * inside block comments and template literals, so a file can pass it and still be over 300 lines.
 */
export function longFiles(files: SourceFile[], max = 300): string[] {
  return files
    .map((f) => ({ path: f.path, lines: f.text.split('\n').length - (f.text.endsWith('\n') ? 1 : 0) }))
    .filter((f) => f.lines > max)
    .map((f) => `${f.path} has ${f.lines} lines (at most ${max}): split it`)
}

function main(): void {
  const src = join(dirname(fileURLToPath(import.meta.url)), '..', 'src')
  const files = listTs(src, src)
  const { violations, staleAllowed } = checkLayers(files)
  violations.push(...longFiles(files))
  for (const v of violations) console.error(`layering: ${v}`)
  for (const e of staleAllowed)
    console.error(`layering: allow-list entry "${e}" no longer matches an import: remove it`)
  if (violations.length > 0 || staleAllowed.length > 0) process.exit(1)
  console.log('layering: ok')
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main()
