// The launcher's decisions, apart from bin/dbsync.js so the unit tests can ask them without starting a
// process: which pre-rendered help text an invocation asks for, which command it runs, and the V8 setting
// the commands that copy rows get before the CLI is imported. Plain JavaScript, loaded before anything
// is built; its types are in launcher.d.ts.
import v8 from 'node:v8'

/** The commands that copy rows (one-shot, --every/--cron, --full-refresh and --repair are all `sync`). */
const COPY_COMMANDS = new Set(['sync'])

/** The global options that take a value (cli/program.ts), so that value is not read as the command. */
export const GLOBAL_OPTIONS_WITH_VALUE = ['--env', '--log-level', '--log-format']

/**
 * Node major versions whose V8 honours COPY_V8_FLAGS as set at run time; the contract test
 * (test/integration/launcher.test.ts) fails on a Node outside them, or where the setting stops working.
 * Newer V8 releases clamp the growth factor to at least 2 (a DEFINE_MIN_VALUE_IMPLICATION), so a version
 * is added here only once that test passes on it.
 */
export const TESTED_NODE_MAJORS = [20]

/**
 * Keep V8's young generation at its starting size. A copy streams short-lived values; V8 answers by
 * growing the young generation up to 2 × 16 MB and lets the old generation grow past the live data
 * before it collects. Measured on the 1M-row bench copy: peak RSS 186 → 110 MB for about 3% more time.
 * V8 reads the factor each time it considers growing the young generation, so it takes effect when set
 * at run time. Given on node's command line instead it did not hold (Node 20.20: the young generation
 * still grew to 32 MB), and NODE_OPTIONS refuses it; so it is set here, before the CLI is imported.
 */
export const COPY_V8_FLAGS = ['--semi-space-growth-factor=1']

/** The command an argument list runs: its first word that is neither an option nor an option's value. */
export function commandOf(args) {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]
    if (GLOBAL_OPTIONS_WITH_VALUE.includes(a)) i++
    else if (!a.startsWith('-')) return a
  }
  return null
}

/**
 * Set COPY_V8_FLAGS when the arguments run a command that copies rows, on a tested Node version; every
 * other command (plan, validate, status, init, diff-schema, help) keeps V8's defaults. Returns the flags
 * set. Call it before the CLI is imported, so no allocation happens under the defaults first.
 */
export function tuneV8ForCopies(args, nodeVersion = process.versions.node, setFlags = v8.setFlagsFromString) {
  if (!COPY_COMMANDS.has(commandOf(args))) return []
  if (!TESTED_NODE_MAJORS.includes(Number(nodeVersion.split('.')[0]))) return []
  for (const flag of COPY_V8_FLAGS) setFlags(flag)
  return COPY_V8_FLAGS
}

/**
 * The pre-rendered help a `--help` / `-h` / `help [command]` invocation asks for (a file under `helpDir`,
 * a URL ending in /), or null.
 */
export function helpFile(args, helpDir) {
  const isHelp = (x) => x === '--help' || x === '-h'
  let name = null
  if (args.length === 1 && (isHelp(args[0]) || args[0] === 'help')) name = 'dbsync'
  else if (args.length === 2 && isHelp(args[1]) && /^[a-z-]+$/.test(args[0])) name = args[0]
  else if (args.length === 2 && args[0] === 'help' && /^[a-z-]+$/.test(args[1])) name = args[1]
  return name === null ? null : new URL(`${name}.txt`, helpDir)
}
