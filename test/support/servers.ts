import { rmSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { findMysqlBinaries } from './binaries.js'
import { buildInfo, freePort, initDataDir, launch, PortInUseError, type ServerInfo } from './server-launch.js'
import { isServerPid, readServerPidSync, signal, startWatchdog, waitForExit } from './server-process.js'

export { findMysqlBinaries, type MysqlBinaries } from './binaries.js'
export type { ServerInfo } from './server-launch.js'

const STOP_TIMEOUT_MS = 30_000
const PORT_ATTEMPTS = 5

/** A MariaDB/MySQL server on a loopback port with a fresh datadir, owned by the test run. */
export interface ThrowawayServer {
  readonly url: string
  readonly host: string
  readonly port: number
  /** The running server's pid (the last one known if it is down). */
  readonly pid: number
  readonly dataDir: string
  readonly info: ServerInfo
  /** SIGTERM, wait for the exit, then remove the temp folder. */
  stop(): Promise<void>
  /** SIGKILL, as a crash would, and wait until the process is gone; the datadir stays for restart(). */
  kill(): Promise<void>
  /** Start again on the same port and datadir (stopping it first if it still runs) and wait until it accepts connections. */
  restart(): Promise<void>
}

export interface StartServerOptions {
  name: string
  port?: number
  extraArgs?: string[]
  /** Added to the server's environment, e.g. `{ TZ: 'Asia/Kolkata' }` for a server in local time. */
  env?: Record<string, string>
}

// Servers this process started, by baseDir: the exit handler kills them and removes their folders.
const owned = new Map<string, ServerHandle>()
let exitHookInstalled = false

/**
 * Initialises a fresh datadir in a temp folder and starts a server on a free 127.0.0.1 port; resolves once
 * root (empty password) can connect. The server is killed and its folder removed when this process exits.
 */
export async function startServer(opts: StartServerOptions): Promise<ThrowawayServer> {
  const bins = await findMysqlBinaries()
  const baseDir = await mkdtemp(join(tmpdir(), `dbsync-${opts.name.replace(/[^\w-]/g, '_')}-`))
  const dataDir = join(baseDir, 'data')
  const placeholder = new ServerHandle(buildInfo(opts, bins, baseDir, 0), true)
  owned.set(baseDir, placeholder)
  installExitHook()
  // Started before anything runs, so even a runner killed mid-startup leaves nothing behind.
  const watchdogPid = startWatchdog(baseDir, { pidFile: placeholder.info.pidFile, command: bins.server })
  try {
    await initDataDir(bins, dataDir, baseDir)
    for (let attempt = 1; ; attempt++) {
      const port = opts.port ?? (await freePort())
      const handle = new ServerHandle(buildInfo(opts, bins, baseDir, port), true)
      handle.watchdogPid = watchdogPid
      owned.set(baseDir, handle)
      try {
        await handle.start()
        return handle
      } catch (err) {
        // Another process may grab the probed port before the server binds it; probe again.
        if (err instanceof PortInUseError && opts.port === undefined && attempt < PORT_ATTEMPTS) continue
        throw err
      }
    }
  } catch (err) {
    owned.delete(baseDir)
    await rm(baseDir, { recursive: true, force: true })
    if (watchdogPid !== undefined) signal(watchdogPid, 'SIGTERM')
    throw err
  }
}

/** A handle on a server started by another process (the global setup), for fault tests in a worker. */
export function attachServer(info: ServerInfo): ThrowawayServer {
  return new ServerHandle(info, false)
}

class ServerHandle implements ThrowawayServer {
  watchdogPid: number | undefined
  private lastPid: number

  constructor(
    readonly info: ServerInfo,
    private readonly isOwned: boolean,
  ) {
    this.lastPid = info.pid
  }

  get url(): string {
    return this.info.url
  }
  get host(): string {
    return this.info.host
  }
  get port(): number {
    return this.info.port
  }
  get dataDir(): string {
    return this.info.dataDir
  }
  get pid(): number {
    return this.livePid() ?? this.lastPid
  }

  /** The running server's pid: the pid file covers restarts done by other processes. */
  livePid(): number | null {
    const fromFile = readServerPidSync(this.info.pidFile, this.info.command)
    if (fromFile !== null) return fromFile
    // The pid file appears only some way into startup.
    return isServerPid(this.lastPid, this.info.command) ? this.lastPid : null
  }

  async start(): Promise<void> {
    this.lastPid = await launch(this.info)
    this.info.pid = this.lastPid
  }

  async stop(): Promise<void> {
    await this.terminate()
    await rm(this.info.baseDir, { recursive: true, force: true })
    if (this.watchdogPid !== undefined) signal(this.watchdogPid, 'SIGTERM')
    if (this.isOwned) owned.delete(this.info.baseDir)
  }

  async kill(): Promise<void> {
    const pid = this.livePid()
    if (pid === null) return
    signal(pid, 'SIGKILL')
    if (!(await waitForExit(pid, 10_000))) throw new Error(`${this.info.name}: pid ${pid} survived SIGKILL`)
  }

  async restart(): Promise<void> {
    await this.terminate()
    await this.start()
  }

  private async terminate(): Promise<void> {
    const pid = this.livePid()
    if (pid === null) return
    signal(pid, 'SIGTERM')
    if (await waitForExit(pid, STOP_TIMEOUT_MS)) return
    signal(pid, 'SIGKILL')
    await waitForExit(pid, 10_000)
  }

  /** Synchronous, for the exit handler: no graceful shutdown, the folder goes anyway. */
  killSync(): void {
    const pid = this.livePid()
    if (pid !== null) signal(pid, 'SIGKILL')
    rmSync(this.info.baseDir, { recursive: true, force: true })
    if (this.watchdogPid !== undefined) signal(this.watchdogPid, 'SIGTERM')
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  // vitest turns SIGINT/SIGTERM into process.exit(), so 'exit' also covers Ctrl-C; harder deaths are
  // left to the watchdog.
  process.once('exit', () => {
    for (const handle of owned.values()) {
      try {
        handle.killSync()
      } catch {
        // Best effort: keep cleaning the others.
      }
    }
  })
}
