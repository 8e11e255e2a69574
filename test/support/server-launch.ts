import { execFile, spawn } from 'node:child_process'
import { realpathSync } from 'node:fs'
import { mkdir, stat, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import mysql from 'mysql2/promise'
import type { MysqlBinaries } from './binaries.js'
import { logTail, signal } from './server-process.js'

const execFileAsync = promisify(execFile)

const READY_TIMEOUT_MS = 60_000

/** Everything needed to find, kill or restart a throwaway server; plain data, so vitest's provide() can carry it. */
export interface ServerInfo {
  name: string
  flavor: 'mariadb' | 'mysql'
  host: string
  port: number
  /** `mysql://root@127.0.0.1:PORT`, no database */
  url: string
  /** The pid when this snapshot was taken; a restart changes it, so use `attachServer(info).pid` for the live one. */
  pid: number
  /** The temp folder holding the datadir, socket, pid file and logs; removed by stop(). */
  baseDir: string
  dataDir: string
  pidFile: string
  errorLog: string
  command: string
  args: string[]
  /** Added to the server's environment, e.g. `TZ` for a server running in local time. */
  env?: Record<string, string>
}

/** The server could not bind its port; a probed port may be taken again, so the caller retries. */
export class PortInUseError extends Error {}

/** The ServerInfo for a server named `opts.name` in `baseDir`; only the port changes between attempts. */
export function buildInfo(
  opts: { name: string; extraArgs?: string[]; env?: Record<string, string> },
  bins: MysqlBinaries,
  baseDir: string,
  port: number,
): ServerInfo {
  const host = '127.0.0.1'
  const dataDir = join(baseDir, 'data')
  const pidFile = join(baseDir, 'mysqld.pid')
  const errorLog = join(baseDir, 'error.log')
  const args = [
    '--no-defaults',
    ...runAsRoot(),
    `--datadir=${dataDir}`,
    `--port=${port}`,
    `--bind-address=${host}`,
    `--socket=${join(baseDir, 'mysqld.sock')}`,
    `--pid-file=${pidFile}`,
    `--log-error=${errorLog}`,
    `--tmpdir=${join(baseDir, 'tmp')}`,
    '--local-infile=1',
    '--innodb-buffer-pool-size=256M',
    '--innodb-flush-log-at-trx-commit=2',
    '--skip-log-bin',
    '--max-connections=500',
    '--skip-name-resolve',
    '--character-set-server=utf8mb4',
    '--collation-server=utf8mb4_general_ci',
    // MySQL's X plugin listens on 33060 by default, so a second server would fail to start.
    ...(bins.flavor === 'mysql' ? ['--mysqlx=OFF'] : []),
    ...(opts.extraArgs ?? []),
  ]
  return {
    name: opts.name,
    flavor: bins.flavor,
    host,
    port,
    url: `mysql://root@${host}:${port}`,
    pid: 0,
    baseDir,
    dataDir,
    pidFile,
    errorLog,
    command: bins.server,
    args,
    ...(opts.env ? { env: opts.env } : {}),
  }
}

// mariadbd and mysqld refuse to run as root unless told to.
function runAsRoot(): string[] {
  return process.getuid?.() === 0 ? ['--user=root'] : []
}

/** Creates the system tables in a fresh `dataDir`, with root@127.0.0.1 and an empty password. */
export async function initDataDir(bins: MysqlBinaries, dataDir: string, baseDir: string): Promise<void> {
  // A starting server deletes every #sql* file in its tmpdir, so servers sharing /tmp wipe each other's
  // on-disk temp tables: two parallel mariadb-install-db runs failed with "Can't find file
  // '/tmp/#sql-temptable-...MAI'" or a segfault in ha_maria::drop_table about one time in twenty.
  const tmp = join(baseDir, 'tmp')
  await mkdir(tmp, { recursive: true })
  let command: string
  let args: string[]
  if (bins.installDb !== null) {
    command = bins.installDb
    args = [
      '--no-defaults',
      ...runAsRoot(),
      `--datadir=${dataDir}`,
      // mariadb-install-db hands options it does not know to the bootstrap mariadbd.
      `--tmpdir=${tmp}`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
      // Creates root@127.0.0.1 instead of root@<hostname>, which --skip-name-resolve would ignore anyway.
      '--skip-name-resolve',
    ]
  } else {
    // MySQL creates only root@localhost, which a TCP login from 127.0.0.1 does not match under
    // --skip-name-resolve; --init-file runs once the system tables exist.
    const initFile = join(baseDir, 'init.sql')
    await writeFile(
      initFile,
      "CREATE USER 'root'@'127.0.0.1' IDENTIFIED BY '';\n" +
        "GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;\n",
    )
    command = bins.server
    args = [
      '--no-defaults',
      ...runAsRoot(),
      '--initialize-insecure',
      `--datadir=${dataDir}`,
      `--tmpdir=${tmp}`,
      `--init-file=${initFile}`,
    ]
  }
  try {
    await execFileAsync(command, args, { maxBuffer: 16 * 1024 * 1024 })
  } catch (err) {
    const e = err as Error & { stdout?: string; stderr?: string }
    throw new Error(
      `initialising ${dataDir} failed: ${command} ${args.join(' ')}\n${e.stderr ?? ''}${e.stdout ?? ''}`,
      { cause: err },
    )
  }
}

/** Spawns the server and waits until root can log in; returns its pid. */
export async function launch(info: ServerInfo): Promise<number> {
  // Read only what this start writes to the shared error log, so an old failure is not reported again.
  const logOffset = await stat(info.errorLog).then(
    (s) => s.size,
    () => 0,
  )
  // Detached: a Ctrl-C in the terminal must not reach the server before our cleanup does, and a worker
  // that restarts a server must be able to exit without taking it along.
  const child = spawn(info.command, info.args, {
    detached: true,
    stdio: 'ignore',
    env: info.env ? { ...process.env, ...info.env } : process.env,
  })
  child.unref()
  let exited: string | undefined
  child.once('exit', (code, sig) => {
    exited = sig !== null ? `was killed by ${sig}` : `exited with code ${code}`
  })
  child.once('error', (err) => {
    exited = `could not be spawned (${err.message})`
  })
  const deadline = Date.now() + READY_TIMEOUT_MS
  let lastError: unknown
  for (;;) {
    if (exited !== undefined) {
      const log = await logTail(info.errorLog, 40, logOffset)
      const message = `${info.name} server (${info.command}) ${exited} during startup on port ${info.port}; error log:\n${log}`
      if (/Address already in use/i.test(log)) throw new PortInUseError(message)
      throw new Error(message)
    }
    if (Date.now() > deadline) {
      if (child.pid !== undefined) signal(child.pid, 'SIGKILL')
      const log = await logTail(info.errorLog, 40, logOffset)
      throw new Error(
        `${info.name} server did not accept connections on ${info.host}:${info.port} within ` +
          `${READY_TIMEOUT_MS / 1000}s (last error: ${String(lastError)}); error log:\n${log}`,
      )
    }
    try {
      await ping(info)
      if (child.pid === undefined) throw new Error(`${info.name}: spawned server has no pid`)
      return child.pid
    } catch (err) {
      lastError = err
    }
    await sleep(100)
  }
}

async function ping(info: ServerInfo): Promise<void> {
  const conn = await mysql.createConnection({
    host: info.host,
    port: info.port,
    user: 'root',
    password: '',
    connectTimeout: 2_000,
  })
  try {
    // Another server may hold the port (ours then fails to bind and exits); only our datadir counts.
    const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT @@datadir AS datadir')
    const datadir = String(rows[0]?.datadir ?? '').replace(/\/+$/, '')
    if (datadir !== realpathSync(info.dataDir)) {
      throw new Error(`${info.host}:${info.port} is served from ${datadir}, not ${info.dataDir}`)
    }
  } finally {
    conn.destroy()
  }
}

/** A port that was free a moment ago; the caller retries if the server then finds it taken. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.unref()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      probe.close(() => (port > 0 ? resolve(port) : reject(new Error('could not probe a free port'))))
    })
  })
}
