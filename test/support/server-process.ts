import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

/**
 * True while `pid` runs. A zombie counts as dead: a SIGKILLed child stays in the process table until
 * libuv reaps it, and `kill(pid, 0)` alone would report it alive.
 */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The state letter follows the ")" that closes the command name, which may itself hold spaces.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
    return state !== 'Z' && state !== 'X'
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
  }
  // No /proc (macOS): fall back to signal 0.
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Polls until `pid` has exited; false if it still runs after `timeoutMs`. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false
    await sleep(50)
  }
  return true
}

/**
 * The pid in a server's pid file, or null when the file is missing or the pid now belongs to some other
 * program: after a SIGKILL the file stays behind, and the pid may have been reused since.
 */
export function readServerPidSync(pidFile: string, command: string): number | null {
  let pid: number
  try {
    pid = Number.parseInt(readFileSync(pidFile, 'utf8').trim(), 10)
  } catch {
    return null
  }
  return isServerPid(pid, command) ? pid : null
}

/** True if `pid` is alive and runs `command` (so not a reused pid). */
export function isServerPid(pid: number, command: string): boolean {
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return false
  try {
    // comm is the basename the binary was started as, cut to 15 characters.
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === basename(command).slice(0, 15)
  } catch {
    // No /proc: trust the pid.
    return true
  }
}

/** Sends `signal` to `pid`, ignoring a process that is already gone. */
export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err
  }
}

/** The last `lines` lines of a server's error log written past byte `from`, for failure messages. */
export async function logTail(file: string, lines = 40, from = 0): Promise<string> {
  try {
    const text = (await readFile(file)).subarray(from).toString('utf8')
    return text.trimEnd().split('\n').slice(-lines).join('\n')
  } catch {
    return '(no error log written)'
  }
}

// Runs detached, so it survives a SIGKILLed or crashed test runner, whose exit handlers never run.
const WATCHDOG = `
parent=$1; dir=$2; pidfile=$3; comm=$4
while kill -0 "$parent" 2>/dev/null; do sleep 1; done
if [ -n "$pidfile" ] && [ -f "$pidfile" ]; then
  pid=$(cat "$pidfile")
  if [ "$(cat /proc/$pid/comm 2>/dev/null)" = "$comm" ]; then kill -9 "$pid"; sleep 1; fi
fi
rm -rf "$dir"
`

/**
 * Starts a shell that waits for this process to die, then kills the server named by `server.pidFile` (if
 * given) and removes `dir`. Returns the watchdog's pid, to be killed once the cleanup was done normally.
 */
export function startWatchdog(
  dir: string,
  server?: { pidFile: string; command: string },
): number | undefined {
  const child = spawn(
    'sh',
    [
      '-c',
      WATCHDOG,
      'dbsync-test-watchdog',
      String(process.pid),
      dir,
      server?.pidFile ?? '',
      server === undefined ? '' : basename(server.command).slice(0, 15),
    ],
    { detached: true, stdio: 'ignore' },
  )
  child.on('error', () => {
    // No sh: the in-process exit handler is then the only cleanup, which is acceptable.
  })
  child.unref()
  return child.pid
}
