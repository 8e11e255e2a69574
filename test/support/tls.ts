import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'

const execFileAsync = promisify(execFile)

/** PEM files made by `generateCerts()`, all in `dir`. */
export interface TestCerts {
  dir: string
  /** The test CA that signed the server and client certificates. */
  ca: string
  /** A second, unrelated CA: verifying the server against it must fail. */
  otherCa: string
  /** CN=127.0.0.1, subjectAltName IP:127.0.0.1 and DNS:localhost. */
  serverCert: string
  serverKey: string
  /** CN=dbsync-client, for users created with REQUIRE X509 / REQUIRE SUBJECT. */
  clientCert: string
  clientKey: string
  clientSubject: string
}

// EC P-256 keys: generated in milliseconds, where RSA keys take seconds on a busy machine.
const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']

/**
 * A throwaway PKI made with the openssl command line in a fresh folder under `parent`: a CA, a server
 * certificate for 127.0.0.1/localhost and a client certificate signed by it, and an unrelated second CA.
 * Valid for two days, from now.
 */
export async function generateCerts(parent: string): Promise<TestCerts> {
  const dir = await mkdtemp(join(parent, 'certs-'))
  const f = (name: string) => join(dir, name)
  const clientSubject = '/CN=dbsync-client'
  await makeCa(f('ca'), '/CN=dbsync test CA')
  await makeCa(f('other-ca'), '/CN=some other CA')
  await writeFile(
    f('server.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n',
  )
  await writeFile(f('client.ext'), 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n')
  await Promise.all([
    makeSigned(f('server'), '/CN=127.0.0.1', f('ca'), f('server.ext')),
    makeSigned(f('client'), clientSubject, f('ca'), f('client.ext')),
  ])
  return {
    dir,
    ca: f('ca.pem'),
    otherCa: f('other-ca.pem'),
    serverCert: f('server.pem'),
    serverKey: f('server-key.pem'),
    clientCert: f('client.pem'),
    clientKey: f('client-key.pem'),
    clientSubject,
  }
}

async function makeCa(base: string, subject: string): Promise<void> {
  await openssl([
    'req',
    '-x509',
    ...KEY,
    '-keyout',
    `${base}-key.pem`,
    '-out',
    `${base}.pem`,
    '-days',
    '2',
    '-subj',
    subject,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ])
}

async function makeSigned(base: string, subject: string, ca: string, extFile: string): Promise<void> {
  await openssl([
    'req',
    '-new',
    ...KEY,
    '-keyout',
    `${base}-key.pem`,
    '-out',
    `${base}.csr`,
    '-subj',
    subject,
  ])
  await openssl([
    'x509',
    '-req',
    '-in',
    `${base}.csr`,
    '-CA',
    `${ca}.pem`,
    '-CAkey',
    `${ca}-key.pem`,
    // Not -CAcreateserial: two certificates signed at once would race on the serial file.
    '-set_serial',
    `0x${randomBytes(8).toString('hex')}`,
    '-out',
    `${base}.pem`,
    '-days',
    '2',
    '-extfile',
    extFile,
  ])
}

async function openssl(args: string[]): Promise<void> {
  try {
    await execFileAsync('openssl', args)
  } catch (err) {
    const e = err as Error & { stderr?: string }
    throw new Error(`openssl ${args.join(' ')} failed: ${e.stderr ?? e.message}`, { cause: err })
  }
}
