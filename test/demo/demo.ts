/**
 * `npm run demo`: a first look at dbsync on throwaway servers. Starts a source and a target MariaDB,
 * seeds a small shop on the source, writes a pipeline, then runs validate, plan, sync, a change in the
 * source, plan and sync again, and validate --data. Everything is removed at the end.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mysql from 'mysql2/promise'
import { cliPath } from '../support/cli.js'
import { startServer, type ThrowawayServer } from '../support/servers.js'
import { changeShop, seedShop } from './seed.js'

const bold = (s: string) => (process.stdout.isTTY ? `\u001b[1m${s}\u001b[0m` : s)

function step(title: string, explain: string): void {
  process.stdout.write(`\n${bold(`== ${title}`)}\n${explain}\n\n`)
}

function dbsync(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  process.stdout.write(`$ dbsync ${args.join(' ')}\n`)
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], { stdio: 'inherit', env })
    child.once('error', reject)
    child.once('exit', (code) => resolve(code ?? 1))
  })
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'dbsync-demo-'))
  let servers: ThrowawayServer[] = []
  try {
    step(
      'Starting a throwaway source and target server',
      'Two MariaDB servers on free loopback ports, data in a temp folder.',
    )
    servers = await Promise.all([startServer({ name: 'demo-source' }), startServer({ name: 'demo-target' })])
    const [source, target] = servers as [ThrowawayServer, ThrowawayServer]
    const admin = await mysql.createConnection({ host: source.host, port: source.port, user: 'root' })
    await admin.query('CREATE DATABASE shop')
    await admin.changeUser({ database: 'shop' })
    await seedShop(admin)
    const targetAdmin = await mysql.createConnection({ host: target.host, port: target.port, user: 'root' })
    await targetAdmin.query('CREATE DATABASE shop_copy')
    await targetAdmin.end()
    process.stdout.write('Seeded shop on the source: countries, products, customers, orders (7,300 rows).\n')

    const env = {
      ...process.env,
      SOURCE_DATABASE_URL: `mysql://root@${source.host}:${source.port}/shop`,
      TARGET_DATABASE_URL: `mysql://root@${target.host}:${target.port}/shop_copy`,
    }
    const pipeline = join(work, 'shop.yaml')
    step(
      'dbsync init',
      'Introspects the source and writes a commented pipeline file, one strategy per table.',
    )
    let code = await dbsync(['init', '-o', pipeline], env)
    if (code !== 0) throw new Error(`init exited ${code}`)

    step('dbsync validate', 'Checks the file and both databases: tables, cursor and key columns, indexes.')
    code = await dbsync(['validate', '-p', pipeline], env)
    if (code !== 0) throw new Error(`validate exited ${code}`)

    step('dbsync plan', 'What a sync would do, writing nothing anywhere.')
    await dbsync(['plan', '-p', pipeline], env)

    step('dbsync sync', 'The first sync creates the target tables and copies every row.')
    code = await dbsync(['sync', '-p', pipeline], env)
    if (code !== 0) throw new Error(`sync exited ${code}`)

    step('A change in the source', 'Some orders shipped, two new orders, five customers got credit.')
    await changeShop(admin)
    await admin.end()
    await dbsync(['plan', '-p', pipeline], env)

    step('dbsync sync again', 'Incremental: only the changed rows are read and merged by primary key.')
    code = await dbsync(['sync', '-p', pipeline], env)
    if (code !== 0) throw new Error(`sync exited ${code}`)

    step(
      'dbsync validate --data',
      'Compares source and target contents with chunked checksums on both servers.',
    )
    code = await dbsync(['validate', '-p', pipeline, '--data'], env)
    if (code !== 0) throw new Error(`validate --data exited ${code}`)

    process.stdout.write(
      `\n${bold('Done.')} Look at: the pipeline file dbsync init wrote (its comments say why each table got its\n` +
        'strategy), the state in _sync_state and _sync_runs on the target, and README.md for scheduling,\n' +
        'metrics and deployment. The servers and files are removed now.\n',
    )
  } finally {
    await Promise.allSettled(servers.map((s) => s.stop()))
    await rm(work, { recursive: true, force: true })
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exitCode = 1
})
