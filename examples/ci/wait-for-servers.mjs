// Waits until the servers named by DBSYNC_TEST_SOURCE_URL and DBSYNC_TEST_TARGET_URL accept a login, then
// prints their versions. Containers answer on their port some seconds before the server inside is ready
// (the MySQL images even restart once after initialising), so a TCP check is not enough.
//   node examples/ci/wait-for-servers.mjs [timeout seconds, default 180]
import mysql from 'mysql2/promise'

const timeoutMs = Number(process.argv[2] ?? 180) * 1000
const sides = ['SOURCE', 'TARGET'].map((side) => [side, process.env[`DBSYNC_TEST_${side}_URL`]])

for (const [side, url] of sides) {
  if (!url) {
    console.error(`DBSYNC_TEST_${side}_URL is not set`)
    process.exit(2)
  }
}

async function version(url) {
  const u = new URL(url)
  const conn = await mysql.createConnection({
    host: u.hostname,
    port: Number(u.port || 3306),
    user: decodeURIComponent(u.username) || 'root',
    password: decodeURIComponent(u.password),
    connectTimeout: 5000,
  })
  try {
    const [rows] = await conn.query('SELECT VERSION() AS v, @@local_infile AS li, @@log_bin AS lb')
    return `${rows[0].v} (local_infile=${rows[0].li}, log_bin=${rows[0].lb})`
  } finally {
    await conn.end()
  }
}

const deadline = Date.now() + timeoutMs
for (const [side, url] of sides) {
  for (;;) {
    try {
      console.log(`${side.toLowerCase()}: ${await version(url)}`)
      break
    } catch (err) {
      if (Date.now() > deadline) {
        console.error(
          `${side.toLowerCase()} did not accept a login within ${timeoutMs / 1000}s: ${err.message}`,
        )
        process.exit(1)
      }
      await new Promise((r) => setTimeout(r, 2000))
    }
  }
}
