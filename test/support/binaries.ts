import { execFile } from 'node:child_process'
import { access, constants } from 'node:fs/promises'
import { delimiter, join } from 'node:path'
import { promisify } from 'node:util'

const execFileAsync = promisify(execFile)

/** The server binaries used for throwaway test servers, and how to initialise a datadir with them. */
export interface MysqlBinaries {
  flavor: 'mariadb' | 'mysql'
  /** mariadbd or mysqld */
  server: string
  /** mariadb-install-db (or mysql_install_db for an old MariaDB); null for MySQL, which uses `mysqld --initialize-insecure` */
  installDb: string | null
}

// Debian puts mariadbd/mysqld in /usr/sbin, which a non-root PATH often lacks; tarball installs use /usr/local/mysql.
const EXTRA_DIRS = ['/usr/sbin', '/usr/local/sbin', '/usr/bin', '/usr/local/bin', '/usr/local/mysql/bin']

let cached: Promise<MysqlBinaries> | undefined

/**
 * Locates the server binaries, preferring MariaDB (mariadbd + mariadb-install-db) and falling back to
 * MySQL's mysqld when only MySQL is installed.
 */
export function findMysqlBinaries(): Promise<MysqlBinaries> {
  cached ??= locate()
  return cached
}

async function locate(): Promise<MysqlBinaries> {
  const mariadbd = await which('mariadbd')
  if (mariadbd) {
    const installDb = (await which('mariadb-install-db')) ?? (await which('mysql_install_db'))
    if (!installDb) throw new Error(`found ${mariadbd} but no mariadb-install-db next to it`)
    return { flavor: 'mariadb', server: mariadbd, installDb }
  }
  const mysqld = await which('mysqld')
  if (!mysqld) {
    throw new Error(
      'no mariadbd or mysqld found on PATH or in /usr/sbin: install mariadb-server, or set ' +
        'DBSYNC_TEST_SOURCE_URL and DBSYNC_TEST_TARGET_URL to use existing servers',
    )
  }
  // MariaDB < 10.4 only ships the mysqld name; it still needs mysql_install_db rather than --initialize.
  const { stdout } = await execFileAsync(mysqld, ['--version'])
  if (/mariadb/i.test(stdout)) {
    const installDb = await which('mysql_install_db')
    if (!installDb) throw new Error(`${mysqld} is MariaDB but mysql_install_db is missing`)
    return { flavor: 'mariadb', server: mysqld, installDb }
  }
  return { flavor: 'mysql', server: mysqld, installDb: null }
}

async function which(name: string): Promise<string | null> {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...EXTRA_DIRS]
  for (const dir of dirs) {
    const candidate = join(dir, name)
    try {
      await access(candidate, constants.X_OK)
      return candidate
    } catch {
      // not in this directory; keep looking
    }
  }
  return null
}
