/**
 * `pnpm bench`: what getAccessToken costs, on real PostgreSQL and the local rotating oidc-provider.
 *
 *   - database round trips (statements sent, counted at the driver: node-postgres' Client#query, mysql2's
 *     connection query/execute, the mariadb driver's query/execute commands (@prisma/adapter-mariadb),
 *     better-sqlite3's statement run/get/all/iterate and exec, libsql's run/get/iterate and exec) per
 *     getAccessToken (fresh, expired) and per returning sign-in, wrapped vs the bare adapter, for each store
 *     on PostgreSQL, MariaDB and SQLite (better-sqlite3, and libsql for Drizzle and Prisma);
 *   - latency of getAccessToken on a fresh token vs a plain single-row SELECT through the same pool;
 *   - a 4 x 25 refresh storm: latency p50/p99 and refresh grants at the provider, this library vs naive;
 *   - encryption overhead (encryption-bench.ts);
 *   - pool starvation (pool-starvation-bench.ts): 40 accounts expiring together on a pool of 10, provider
 *     answering in 1.5 s, a row per coordination mode: callers served within 3 s, an unrelated SELECT 1 sent
 *     every 50 ms (open loop), and what the pool's sessions held meanwhile (pg_stat_activity, pg_locks);
 *   - the token cache (cache-bench.ts): a cached fresh getAccessToken vs a plain SELECT, and how long a
 *     write takes to reach two other processes' caches;
 *   - scale (scale-bench.ts): 10,000 accounts, 8 processes, expiries spread and at once, a row per coordination
 *     mode, curves written as SVG (its environment switches pick points, modes and CPU profiles);
 *   - side by side with Better Auth 1.7 (better-auth-bench.ts): fresh path vs a raw SELECT and a 4 x 25 storm,
 *     this library, naive and Better Auth's getAccessToken on one provider and one database.
 *
 * `pnpm bench --only=pool` (or any of trips,latency,cache,storm,encryption,pool,scale,better-auth, comma-separated)
 * runs some sections. Uses TEST_DATABASE_URL when set, else starts an embedded PostgreSQL (see harness/postgres.ts).
 */
import { spawn } from "node:child_process"
import { once } from "node:events"
import { createRequire } from "node:module"
import { cpus } from "node:os"
import Database from "better-sqlite3"
import { Redis } from "ioredis"
import mysql2 from "mysql2"
import mysqlPromise from "mysql2/promise"
import pg from "pg"
import { DynamoDBDocument } from "@aws-sdk/lib-dynamodb"
import { startAuthApp } from "../harness/auth-app.js"
import { Browser } from "../harness/browser.js"
import { dynamoDocument, parseDynamoUrl, testDynamoTable } from "../harness/dynalite.js"
import { createMysqlDatabase, startMariaDb } from "../harness/mariadb.js"
import { createDatabase, startPostgres } from "../harness/postgres.js"
import { parseRedisTestUrl, testRedisDatabase } from "../harness/redis.js"
import { testSqliteFile } from "../harness/sqlite.js"
import { accountRedisKey } from "../fixtures/conformance-unstorage-redis.js"
import { SCHEMA_TABLES } from "../fixtures/databases.js"
import { withTokenSync } from "authjs-adapter-refresh"
import { betterAuthSideBySide } from "./better-auth-bench.js"
import { tokenCacheBench } from "./cache-bench.js"
import { encryptionOverhead } from "./encryption-bench.js"
import { poolStarvation } from "./pool-starvation-bench.js"
import { percentile, runStorm } from "./run-storm.js"
import { scaleBench } from "./scale-bench.js"
import { interleavedMedians } from "./timing.js"
import { PROVIDER_ID, startRefreshScenario, type RefreshScenario, type ScenarioOptions } from "./scenario.js"

// Count every statement sent to the server.
let statements = 0
const originalQuery = pg.Client.prototype.query
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  statements++
  return (originalQuery as (...a: unknown[]) => unknown).apply(this, args)
} as typeof pg.Client.prototype.query

/** Counts each call of `names` on `proto` (or on the prototype up its chain that defines each). */
function countCalls(
  proto: object,
  names: readonly string[],
  counts: (self: unknown, args: unknown[]) => boolean = () => true,
): void {
  for (const name of names) {
    let owner: object | null = proto
    while (owner && !Object.prototype.hasOwnProperty.call(owner, name))
      owner = Object.getPrototypeOf(owner) as object | null
    if (!owner) throw new Error(`bench: no ${name} to count on ${proto.constructor.name}`)
    const original = (owner as Record<string, (...args: unknown[]) => unknown>)[name]!
    Object.defineProperty(owner, name, {
      configurable: true,
      writable: true,
      value: function (this: unknown, ...args: unknown[]) {
        if (counts(this, args)) statements++
        return original.apply(this, args)
      },
    })
  }
}
// mysql2 (Kysely's MysqlDialect, drizzle-orm/mysql2): every statement is a connection's query or execute.
countCalls(mysql2.Connection.prototype, ["query", "execute"])
// better-sqlite3 (Kysely's SqliteDialect, drizzle-orm/better-sqlite3, @prisma/adapter-better-sqlite3).
{
  const probe = new Database(":memory:")
  countCalls(Object.getPrototypeOf(probe.prepare("SELECT 1")) as object, ["run", "get", "all", "iterate"])
  countCalls(Database.prototype, ["exec"])
  probe.close()
}
// libsql's local file mode (@libsql/client, under drizzle-orm/libsql and @prisma/adapter-libsql): its
// Statement's run, get and iterate (its all() runs iterate, so it is not counted again) and Database's exec.
{
  const Libsql = createRequire(createRequire(import.meta.url).resolve("@libsql/client"))("libsql") as new (
    path: string,
  ) => { prepare(sql: string): object; close(): void }
  const probe = new Libsql(":memory:")
  countCalls(Object.getPrototypeOf(probe.prepare("SELECT 1")) as object, ["run", "get", "iterate"])
  countCalls(Libsql.prototype, ["exec"])
  probe.close()
}
// The mariadb driver (@prisma/adapter-mariadb): its Query, Execute and BatchBulk commands, as they are sent.
{
  const MariaDbConnection = createRequire(import.meta.url)("mariadb/lib/connection.js") as {
    default?: { prototype: object }
    prototype?: object
  }
  const proto = (MariaDbConnection.prototype ?? MariaDbConnection.default?.prototype) as object
  const sent = (_self: unknown, args: unknown[]) =>
    ["Query", "Execute", "BatchBulk"].includes(
      (args[0] as { constructor?: { name?: string } })?.constructor?.name ?? "",
    )
  countCalls(proto, ["addCommandEnable", "addCommandEnablePipeline"], sent)
}

/** Sequelize's sqlite3 package (its own copy of SQLite): counted below, and the bench's writes on its cell. */
const sequelizeSqlite3 = createRequire(createRequire(import.meta.url).resolve("sequelize"))("sqlite3") as {
  Statement: { prototype: object }
  Database: (new (path: string, done: (error: Error | null) => void) => Sqlite3Database) & { prototype: object }
}
interface Sqlite3Database {
  run(sql: string, values: unknown[], done: (this: { changes: number }, error: Error | null) => void): void
  close(done: (error: Error | null) => void): void
  configure(option: "busyTimeout", ms: number): void
}

// The new stores' drivers, where they are not the copies above (pnpm gives MikroORM 5 its own older ones).
{
  const from = (pkg: string) => createRequire(createRequire(import.meta.url).resolve(pkg))
  // MikroORM on PostgreSQL: its own pg copy's Client#query.
  const mikroPg = from("@mikro-orm/postgresql")("pg") as typeof pg
  if (mikroPg.Client.prototype !== pg.Client.prototype) countCalls(mikroPg.Client.prototype, ["query"])
  // MikroORM on SQLite: its own better-sqlite3 copy, counted as above.
  const MikroSqlite = from("@mikro-orm/better-sqlite")("better-sqlite3") as typeof Database
  if (MikroSqlite !== Database) {
    const probe = new MikroSqlite(":memory:")
    countCalls(Object.getPrototypeOf(probe.prepare("SELECT 1")) as object, ["run", "get", "all", "iterate"])
    countCalls(MikroSqlite.prototype, ["exec"])
    probe.close()
  }
  // MikroORM on MariaDB (knex over mariadb 2.x): its connection keeps its queue in closures, so each text
  // query or batch is counted when the command starts on the wire (a Stream is a Query).
  const mikroMariaDb = from("@mikro-orm/mariadb")
  for (const cmd of ["query", "batch-bulk", "batch-rewrite"])
    countCalls((mikroMariaDb(`mariadb/lib/cmd/${cmd}.js`) as { prototype: object }).prototype, ["start"])
  // Sequelize on SQLite (sqlite3): Statement's run, get, all and each (Database's run/get/all/each prepare
  // a Statement and call these) and Database's exec.
  countCalls(sequelizeSqlite3.Statement.prototype, ["run", "get", "all", "each"])
  countCalls(sequelizeSqlite3.Database.prototype, ["exec"])
  // Redis (unstorage's driver and the store on the same ioredis client): every command sent.
  const ioredis = from("unstorage/drivers/redis")("ioredis") as { Redis: { prototype: object } }
  countCalls(ioredis.Redis.prototype, ["sendCommand"])
}
// DynamoDB: each command the document client (and the store on it) sends, at the SDK client's send.
countCalls(DynamoDBDocument.prototype, ["send"])

async function count(work: () => Promise<unknown>): Promise<number> {
  const before = statements
  await work()
  return statements - before
}

const log = (line: string) => process.stderr.write(`${line}\n`)
const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a")

interface RoundTrips {
  store: string
  database: string
  fresh: number
  /** refresh.cache on (no channel): a fresh token this process read before. */
  cached: number
  expired: number
  signInWrapped: number
  signInBare: number
  /** The seed's workaround: the bare adapter plus a signIn callback that updates the row itself. */
  signInWorkaround: number
}

/** One cell of the round-trips table: a store on a database, and how its stored token is expired by hand. */
interface TripsCell {
  store: string
  database: "PostgreSQL" | "MariaDB" | "SQLite" | "SQLite (libsql)" | "SQLite (sqlite3)" | "Redis" | "DynamoDB"
  /** `refresh`: options the cell needs (the key-value stores' `coordination: "lease"`), on every adapter here. */
  scenario: Pick<ScenarioOptions, "cell" | "fixtureModule" | "databaseUrl" | "refresh">
  /** Sets the key's stored expires_at (not counted: outside the measured calls). */
  expire(key: { provider: string; providerAccountId: string }, expiresAt: number, s: RefreshScenario): Promise<void>
  /**
   * The seed's workaround's write, as an app's signIn callback does it through its own client: Prisma's
   * `account.updateMany`, else one UPDATE of the row's tokens. Absent where it has no meaning (the key-value
   * stores: "n/a" in the table).
   */
  workaround?(
    key: { provider: string; providerAccountId: string },
    tokens: { access_token: unknown; refresh_token: unknown; expires_at: unknown },
    s: RefreshScenario,
  ): Promise<void>
}

/** Prisma cells: the blog's workaround as written, `prisma.account.updateMany` in the signIn callback. */
const prismaWorkaround: TripsCell["workaround"] = async (key, tokens, s) => {
  const prisma = s.fixture.db as { account: { updateMany(args: { where: object; data: object }): Promise<unknown> } }
  await prisma.account.updateMany({
    where: { provider: key.provider, providerAccountId: key.providerAccountId },
    data: tokens,
  })
}

async function roundTrips(cell: TripsCell): Promise<RoundTrips> {
  const login = `bench-${cell.store}-${cell.database}`.toLowerCase()
  const s = await startRefreshScenario({ ...cell.scenario, login, skewSeconds: 0, provider: { accessTokenTtl: 600 } })
  try {
    const ask = { userId: s.userId, provider: PROVIDER_ID }
    await s.adapter.getAccessToken(ask) // warm (pool)
    const N = 20
    let fresh = 0
    for (let i = 0; i < N; i++) fresh += await count(() => s.adapter.getAccessToken(ask))
    // The same store with the token cache on (no channel: every database has this mode).
    const cachedAdapter = withTokenSync(s.fixture.adapter, s.fixture.db as object, {
      refresh: { ...cell.scenario.refresh, providers: [s.providerConfig], skewSeconds: 0, cache: { maxAgeMs: 60_000 } },
    })
    await cachedAdapter.getAccessToken(ask) // the one read that fills it
    let cached = 0
    for (let i = 0; i < N; i++) cached += await count(() => cachedAdapter.getAccessToken(ask))
    // The stored token expired by hand before each call (not counted): after a refresh the engine keeps the
    // stored expiry past its skew (minRefreshIntervalSeconds), so a large skew alone no longer forces one.
    let expired = 0
    for (let i = 0; i < 5; i++) {
      await cell.expire(s.key, Math.floor(Date.now() / 1000) - 10, s)
      expired += await count(async () => {
        if (!(await s.adapter.getAccessToken(ask)).refreshed) throw new Error("the expired path did not refresh")
      })
    }

    // Returning sign-in: the wrapped app (scenario) vs an app on the bare adapter, same account.
    const bareApp = await startAuthApp({
      provider: s.op,
      providerId: PROVIDER_ID,
      session: "database",
      adapter: s.fixture.adapter,
    })
    const bareBrowser = new Browser()
    await bareApp.signIn(bareBrowser, { login: s.login }) // warm
    let signInWrapped = 0
    let signInBare = 0
    for (let i = 0; i < 3; i++) {
      signInWrapped += await count(async () => {
        const r = await s.app.signIn(s.browser, { login: s.login, forceLogin: true })
        if (!r.ok) throw new Error(r.trace)
      })
      signInBare += await count(async () => {
        const r = await bareApp.signIn(bareBrowser, { login: s.login, forceLogin: true })
        if (!r.ok) throw new Error(r.trace)
      })
    }
    await bareApp.stop()
    // The seed's workaround: the bare adapter, and a signIn callback writing the fresh tokens itself.
    const measured = {
      store: cell.store,
      database: cell.database,
      fresh: fresh / N,
      cached: cached / N,
      expired: expired / 5,
      signInWrapped: signInWrapped / 3,
      signInBare: signInBare / 3,
    }
    const workaround = cell.workaround
    if (!workaround) return { ...measured, signInWorkaround: Number.NaN }
    const workaroundApp = await startAuthApp({
      provider: s.op,
      providerId: PROVIDER_ID,
      session: "database",
      adapter: s.fixture.adapter,
      callbacks: {
        async signIn({ account }) {
          if (account)
            await workaround(
              s.key,
              {
                access_token: account.access_token,
                refresh_token: account.refresh_token,
                expires_at: account.expires_at,
              },
              s,
            )
          return true
        },
      },
    })
    const workaroundBrowser = new Browser()
    await workaroundApp.signIn(workaroundBrowser, { login: s.login }) // warm
    let signInWorkaround = 0
    for (let i = 0; i < 3; i++) {
      signInWorkaround += await count(async () => {
        const r = await workaroundApp.signIn(workaroundBrowser, { login: s.login, forceLogin: true })
        if (!r.ok) throw new Error(r.trace)
      })
    }
    await workaroundApp.stop()
    return { ...measured, signInWorkaround: signInWorkaround / 3 }
  } finally {
    await s.stop()
  }
}

/** In a child run of the bench: the one cell (`store/database`) it measures, the others skipped. */
const CHILD_CELL_ENV = "AUTHJS_REFRESH_BENCH_TRIPS_CELL"
const CHILD_ROWS = "bench-trips-rows:"

/**
 * A cell's row: measured here, or in a child process of its own for the stores that keep one database per
 * process. @auth/typeorm-adapter keeps ONE DataSource in a module-level variable (made from the first it is
 * given); @auth/sequelize-adapter's models share their data types, which a MariaDB instance turns into its own
 * SQL (a later SQLite `CREATE TABLE` then fails on `CHAR(36) BINARY`).
 */
async function measure(cell: TripsCell): Promise<RoundTrips | undefined> {
  const name = `${cell.store}/${cell.database}`
  const only = process.env[CHILD_CELL_ENV]
  if (only) return only === name ? roundTrips(cell) : undefined
  if (cell.store !== "typeorm" && cell.store !== "sequelize") return roundTrips(cell)
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, "--only=trips"], {
    env: { ...process.env, [CHILD_CELL_ENV]: name },
    stdio: ["ignore", "pipe", "inherit"],
  })
  let out = ""
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk))
  const [code] = (await once(child, "exit")) as [number | null]
  if (code !== 0) throw new Error(`bench: the child run of ${name} exited with ${code}`)
  // The harnesses print to stdout too: the rows are the marked line.
  const line = out.split("\n").find((l) => l.startsWith(`${CHILD_ROWS} `))
  const rows = JSON.parse(line?.slice(CHILD_ROWS.length + 1) ?? "[]") as RoundTrips[]
  if (rows.length !== 1) throw new Error(`bench: the child run of ${name} measured ${rows.length} rows`)
  return rows[0]
}

type Key = { provider: string; providerAccountId: string }
/** One UPDATE of the key's row, setting `values` (column names are the bench's own, never input). */
const assignments = (values: Record<string, unknown>, quote: (name: string) => string, param: (i: number) => string) =>
  Object.keys(values)
    .map((column, i) => `${quote(column)} = ${param(i + 1)}`)
    .join(", ")
async function pgSet(s: RefreshScenario, accounts: string, key: Key, values: Record<string, unknown>): Promise<void> {
  const n = Object.keys(values).length
  await s.fixture.pool.query(
    `UPDATE ${accounts} SET ${assignments(
      values,
      (c) => `"${c}"`,
      (i) => `$${i}`,
    )} WHERE "provider" = $${n + 1} AND "providerAccountId" = $${n + 2}`,
    [...Object.values(values), key.provider, key.providerAccountId],
  )
}
async function mysqlSet(
  url: string,
  accounts: string,
  key: Key,
  values: Record<string, unknown>,
  idColumn = "providerAccountId",
): Promise<void> {
  const connection = await mysqlPromise.createConnection(url)
  try {
    const sql = `UPDATE \`${accounts}\` SET ${assignments(
      values,
      (c) => `\`${c}\``,
      () => "?",
    )} WHERE \`provider\` = ? AND \`${idColumn}\` = ?`
    await connection.query(sql, [...Object.values(values), key.provider, key.providerAccountId])
  } finally {
    await connection.end()
  }
}
function sqliteSet(
  path: string,
  accounts: string,
  key: Key,
  values: Record<string, unknown>,
  idColumn = "providerAccountId",
): void {
  const db = new Database(path, { timeout: 5000 })
  try {
    const sql = `UPDATE "${accounts}" SET ${assignments(
      values,
      (c) => `"${c}"`,
      () => "?",
    )} WHERE "provider" = ? AND "${idColumn}" = ?`
    db.prepare(sql).run(
      ...Object.values(values).map((v) => (v === undefined ? null : v)),
      key.provider,
      key.providerAccountId,
    )
  } finally {
    db.close()
  }
}

/**
 * sqliteSet for Sequelize's cell, through sqlite3, the SQLite copy its store runs on. Two copies of SQLite in
 * one process do not see each other's locks (POSIX locks are per process): better-sqlite3's close then took
 * the WAL file away from sqlite3's open connections, which kept reading (and writing) their own old view.
 */
async function sqlite3Set(
  path: string,
  accounts: string,
  key: Key,
  values: Record<string, unknown>,
  idColumn: string,
): Promise<void> {
  const sql = `UPDATE "${accounts}" SET ${assignments(
    values,
    (c) => `"${c}"`,
    () => "?",
  )} WHERE "provider" = ? AND "${idColumn}" = ?`
  const params = [
    ...Object.values(values).map((v) => (v === undefined ? null : v)),
    key.provider,
    key.providerAccountId,
  ]
  const db = await new Promise<Sqlite3Database>((resolve, reject) => {
    const opened: Sqlite3Database = new sequelizeSqlite3.Database(path, (error) =>
      error ? reject(error) : resolve(opened),
    )
  })
  try {
    // Not a statement: the workaround's write counts as the one UPDATE, as on the other cells.
    db.configure("busyTimeout", 5000)
    const changes = await new Promise<number>((resolve, reject) => {
      db.run(sql, params, function (error) {
        return error ? reject(error) : resolve(this.changes)
      })
    })
    if (changes !== 1) throw new Error(`bench: the write on ${accounts} changed ${changes} rows`)
  } finally {
    await new Promise<void>((resolve) => db.close(() => resolve()))
  }
}

/** pgSet for the cells whose fixture has no pg Pool: one client of the bench's own (`accounts` quoted). */
async function pgUrlSet(
  url: string,
  accounts: string,
  key: Key,
  values: Record<string, unknown>,
  idColumn: string,
): Promise<void> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const n = Object.keys(values).length
    await client.query(
      `UPDATE ${accounts} SET ${assignments(
        values,
        (c) => `"${c}"`,
        (i) => `$${i}`,
      )} WHERE "provider" = $${n + 1} AND "${idColumn}" = $${n + 2}`,
      [...Object.values(values), key.provider, key.providerAccountId],
    )
  } finally {
    await client.end()
  }
}
/** The expiry of the account's item in unstorage's Redis layout, rewritten by a client of the bench's own. */
async function redisExpire(url: string, key: Key, expiresAt: number): Promise<void> {
  const { serverUrl, keyPrefix } = parseRedisTestUrl(url)
  const client = new Redis(serverUrl, { maxRetriesPerRequest: 1 })
  try {
    const itemKey = accountRedisKey(keyPrefix, key)
    const raw = await client.get(itemKey)
    if (!raw) throw new Error(`bench: no account item at ${itemKey}`)
    await client.set(itemKey, JSON.stringify({ ...(JSON.parse(raw) as object), expires_at: expiresAt }))
  } finally {
    client.disconnect()
  }
}
/** The expiry of the account's item in @auth/dynamodb-adapter's table (it must exist: the update is conditional). */
async function dynamoExpire(url: string, userId: string, key: Key, expiresAt: number): Promise<void> {
  const client = dynamoDocument(url)
  try {
    await client.update({
      TableName: parseDynamoUrl(url).tableName,
      Key: { pk: `USER#${userId}`, sk: `ACCOUNT#${key.provider}#${key.providerAccountId}` },
      UpdateExpression: "SET expires_at = :e",
      ConditionExpression: "attribute_exists(pk)",
      ExpressionAttributeValues: { ":e": expiresAt },
    })
  } finally {
    client.destroy()
  }
}

const fixtureModule = (name: string) => new URL(`../fixtures/${name}.ts`, import.meta.url)

/** Every store on every database the repo runs it on, each on a fresh database. */
async function allRoundTrips(adminUrl: string): Promise<RoundTrips[]> {
  const trips: (RoundTrips | undefined)[] = []
  for (const cell of ["pg", "kysely", "drizzle", "prisma"] as const) {
    const db = await createDatabase(adminUrl, `bench_rt_${cell}`)
    const { accounts } = SCHEMA_TABLES[cell]
    try {
      trips.push(
        await measure({
          store: cell,
          database: "PostgreSQL",
          scenario: { cell, databaseUrl: db.url },
          expire: (key, expires_at, s) => pgSet(s, accounts, key, { expires_at }),
          workaround: cell === "prisma" ? prismaWorkaround : (key, tokens, s) => pgSet(s, accounts, key, tokens),
        }),
      )
    } finally {
      await db.drop()
    }
  }
  // The ORMs' own schemas (TypeORM: camelCase keys; Sequelize, MikroORM: snake_case) and Supabase's next_auth.
  const ormCells = [
    ["typeorm", "typeorm", "accounts", "providerAccountId"],
    ["sequelize", "sequelize", "accounts", "provider_account_id"],
    ["mikroorm", "mikroorm", "account", "provider_account_id"],
  ] as const
  for (const [store, fixture, accounts, idColumn] of [
    ...ormCells.map(([store, name, table, id]) => [store, `conformance-${name}-postgres`, `"${table}"`, id] as const),
    ["supabase", "conformance-supabase-schema", '"next_auth"."accounts"', "providerAccountId"] as const,
  ]) {
    const db = await createDatabase(adminUrl, `bench_rt_${store}`)
    try {
      const set = (key: Key, values: Record<string, unknown>) => pgUrlSet(db.url, accounts, key, values, idColumn)
      trips.push(
        await measure({
          store,
          database: "PostgreSQL",
          scenario: { fixtureModule: fixtureModule(fixture), databaseUrl: db.url },
          expire: (key, expires_at) => set(key, { expires_at }),
          workaround: (key, tokens) => set(key, tokens),
        }),
      )
    } finally {
      await db.drop()
    }
  }
  const mariadb = await startMariaDb({ log })
  try {
    for (const [store, accounts] of [
      ["kysely", "Account"],
      ["drizzle", "account"],
      ["prisma", "Account"],
    ] as const) {
      const db = await createMysqlDatabase(mariadb.url, `bench_rt_${store}`)
      try {
        trips.push(
          await measure({
            store,
            database: "MariaDB",
            scenario: { fixtureModule: fixtureModule(`conformance-${store}-mysql`), databaseUrl: db.url },
            expire: (key, expires_at) => mysqlSet(db.url, accounts, key, { expires_at }),
            workaround:
              store === "prisma" ? prismaWorkaround : (key, tokens) => mysqlSet(db.url, accounts, key, tokens),
          }),
        )
      } finally {
        await db.drop()
      }
    }
    for (const [store, name, accounts, idColumn] of ormCells) {
      const db = await createMysqlDatabase(mariadb.url, `bench_rt_${store}`)
      try {
        trips.push(
          await measure({
            store,
            database: "MariaDB",
            scenario: { fixtureModule: fixtureModule(`conformance-${name}-mariadb`), databaseUrl: db.url },
            expire: (key, expires_at) => mysqlSet(db.url, accounts, key, { expires_at }, idColumn),
            workaround: (key, tokens) => mysqlSet(db.url, accounts, key, tokens, idColumn),
          }),
        )
      } finally {
        await db.drop()
      }
    }
  } finally {
    await mariadb.stop()
  }
  const sqliteCells = [
    ["kysely", "Account", "SQLite", "sqlite"],
    ["drizzle", "account", "SQLite", "sqlite"],
    ["prisma", "Account", "SQLite", "sqlite"],
    ["drizzle", "account", "SQLite (libsql)", "libsql"],
    ["prisma", "Account", "SQLite (libsql)", "libsql"],
  ] as const
  for (const [store, accounts, database, driver] of sqliteCells) {
    const file = await testSqliteFile(`bench_rt_${store}_${driver}`)
    try {
      trips.push(
        await measure({
          store,
          database,
          scenario: { fixtureModule: fixtureModule(`conformance-${store}-${driver}`), databaseUrl: file.url },
          expire: async (key, expires_at) => sqliteSet(file.path, accounts, key, { expires_at }),
          workaround:
            store === "prisma" ? prismaWorkaround : async (key, tokens) => sqliteSet(file.path, accounts, key, tokens),
        }),
      )
    } finally {
      await file.drop()
    }
  }
  for (const [store, name, accounts, idColumn] of ormCells) {
    const file = await testSqliteFile(`bench_rt_${store}`)
    try {
      // Each store's rows written through its own copy of SQLite (see sqlite3Set).
      const set = async (key: Key, values: Record<string, unknown>) =>
        store === "sequelize"
          ? sqlite3Set(file.path, accounts, key, values, idColumn)
          : sqliteSet(file.path, accounts, key, values, idColumn)
      trips.push(
        await measure({
          store,
          // Sequelize's sqlite dialect runs on the sqlite3 package; TypeORM and MikroORM here on better-sqlite3.
          database: store === "sequelize" ? "SQLite (sqlite3)" : "SQLite",
          scenario: { fixtureModule: fixtureModule(`conformance-${name}-sqlite`), databaseUrl: file.url },
          expire: (key, expires_at) => set(key, { expires_at }),
          workaround: (key, tokens) => set(key, tokens),
        }),
      )
    } finally {
      await file.drop()
    }
  }
  // The key-value stores, lease mode only; no seed's workaround (see docs/BENCHMARKS.md).
  const lease = { coordination: "lease" } as const
  const redis = await testRedisDatabase("bench_rt_redis")
  try {
    trips.push(
      await measure({
        store: "unstorage",
        database: "Redis",
        scenario: {
          fixtureModule: fixtureModule("conformance-unstorage-redis"),
          databaseUrl: redis.url,
          refresh: lease,
        },
        expire: (key, expiresAt) => redisExpire(redis.url, key, expiresAt),
      }),
    )
  } finally {
    await redis.drop()
  }
  const dynamo = await testDynamoTable("bench_rt_dynamodb")
  try {
    trips.push(
      await measure({
        store: "dynamodb",
        database: "DynamoDB",
        scenario: { fixtureModule: fixtureModule("conformance-dynamodb"), databaseUrl: dynamo.url, refresh: lease },
        expire: (key, expiresAt, s) => dynamoExpire(dynamo.url, s.userId, key, expiresAt),
      }),
    )
  } finally {
    await dynamo.drop()
  }
  return trips.filter((t): t is RoundTrips => t !== undefined)
}

async function latencyRatio(adminUrl: string): Promise<{ select: number; fresh: number; ratio: number; n: number }> {
  const db = await createDatabase(adminUrl, "bench_latency")
  const s = await startRefreshScenario({
    cell: "pg",
    databaseUrl: db.url,
    login: "bench-latency",
    skewSeconds: 0,
    provider: { accessTokenTtl: 600 },
  })
  try {
    const ask = { userId: s.userId, provider: PROVIDER_ID }
    const sql = `SELECT * FROM ${SCHEMA_TABLES.pg.accounts} WHERE "userId" = $1 AND "provider" = $2`
    const N = 2000
    const [select, fresh] = await interleavedMedians(N, 200, [
      { call: () => s.fixture.pool.query(sql, [s.userId, PROVIDER_ID]) },
      { call: () => s.adapter.getAccessToken(ask) },
    ])
    return { select, fresh, ratio: fresh / select, n: N }
  } finally {
    await s.stop()
    await db.drop()
  }
}

interface StormStats {
  mode: "library" | "naive"
  ok: number
  failed: number
  grants: number
  grantErrors: number
  revoked: number
  p50: number
  p99: number
  distinctTokens: number
}

async function storm(adminUrl: string, mode: "library" | "naive"): Promise<StormStats> {
  const db = await createDatabase(adminUrl, `bench_storm_${mode}`)
  const s = await startRefreshScenario({
    cell: "pg",
    databaseUrl: db.url,
    login: `bench-storm-${mode}`,
    skewSeconds: 0,
    provider: { accessTokenTtl: 3 },
  })
  try {
    const grants = s.op.stats.refreshGrants
    const run = await runStorm(
      {
        cell: "pg",
        databaseUrl: db.url,
        provider: s.provider,
        userId: s.userId,
        providerAccountId: s.key.providerAccountId,
        mode,
        skewSeconds: 0,
      },
      { processes: 4, callersPerProcess: 25, beforeGo: () => s.waitForExpiry(0) },
    )
    const latencies = run.outcomes.map((o) => o.latencyMs)
    return {
      mode,
      ok: run.outcomes.filter((o) => o.ok).length,
      failed: run.outcomes.filter((o) => !o.ok).length,
      grants: s.op.stats.refreshGrants - grants,
      grantErrors: s.op.stats.refreshErrors.length,
      revoked: s.op.stats.grantsRevoked,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      distinctTokens: new Set(run.outcomes.filter((o) => o.ok).map((o) => o.tokenFingerprint)).size,
    }
  } finally {
    await s.stop()
    await db.drop()
  }
}

const SECTIONS = ["trips", "latency", "cache", "storm", "encryption", "pool", "scale", "better-auth"] as const

function wanted(argv: readonly string[]): (section: (typeof SECTIONS)[number]) => boolean {
  const only = argv.find((arg) => arg.startsWith("--only="))?.slice("--only=".length)
  if (!only) return () => true
  const names = only.split(",").map((name) => name.trim())
  for (const name of names)
    if (!(SECTIONS as readonly string[]).includes(name))
      throw new Error(`unknown bench section "${name}"; known: ${SECTIONS.join(", ")}`)
  return (section) => names.includes(section)
}

async function main(): Promise<void> {
  const want = wanted(process.argv.slice(2))
  const t0 = performance.now()
  const server = await startPostgres({ log })
  try {
    const cpu = cpus()[0]?.model ?? "unknown"
    const out: string[] = []
    out.push(`machine: ${cpus().length} CPUs (${cpu}), node ${process.version}, PostgreSQL backend ${server.backend}`)
    out.push("")
    if (want("trips")) {
      log("round trips ...")
      const trips = await allRoundTrips(server.url)
      if (process.env[CHILD_CELL_ENV]) {
        process.stdout.write(`\n${CHILD_ROWS} ${JSON.stringify(trips)}\n`)
        return
      }
      out.push("Database round trips (statements sent, counted at the driver) per operation")
      out.push(
        "| store     | database         | getAccessToken fresh | fresh, refresh.cache | expired (refresh) " +
          "| returning sign-in, wrapped | bare adapter | seed's workaround (signIn callback) |",
      )
      out.push("|-----------|------------------|-----:|-----:|-----:|-----:|-----:|-----:|")
      for (const t of trips) {
        out.push(
          `| ${t.store.padEnd(9)} | ${t.database.padEnd(16)} | ${fmt(t.fresh, 1)} ` +
            `| ${fmt(t.cached, 1)} | ${fmt(t.expired, 1)} | ${fmt(t.signInWrapped, 1)} ` +
            `| ${fmt(t.signInBare, 1)} | ${fmt(t.signInWorkaround, 1)} |`,
        )
      }
      out.push("")
    }
    if (want("latency")) {
      log("latency ...")
      const latency = await latencyRatio(server.url)
      out.push(
        `getAccessToken (fresh) vs plain single-row SELECT, same pg Pool, median of ${latency.n} sequential calls each`,
      )
      out.push("| plain SELECT | getAccessToken fresh | ratio |")
      out.push("|-------------:|---------------------:|------:|")
      out.push(`| ${fmt(latency.select, 3)} ms | ${fmt(latency.fresh, 3)} ms | ${fmt(latency.ratio)}x |`)
      out.push("")
    }
    if (want("cache")) out.push(...(await tokenCacheBench(server.url, count)))
    if (want("storm")) {
      log("storms ...")
      const storms = [await storm(server.url, "library"), await storm(server.url, "naive")]
      out.push(
        "Refresh storm: 4 OS processes x 25 concurrent callers, one expired account (pg store), rotating provider",
      )
      out.push(
        "| approach | callers ok | failed | refresh grants OK | " +
          "refresh errors | grants revoked | distinct tokens | p50 | p99 |",
      )
      out.push(
        "|----------|-----------:|-------:|------------------:|" +
          "---------------:|---------------:|----------------:|----:|----:|",
      )
      for (const r of storms) {
        out.push(
          `| ${r.mode === "library" ? "this library" : "naive (guide)"} | ${r.ok} | ${r.failed} | ${r.grants} ` +
            `| ${r.grantErrors} | ${r.revoked} | ${r.distinctTokens} | ${fmt(r.p50, 1)} ms | ${fmt(r.p99, 1)} ms |`,
        )
      }
      out.push("")
    }
    if (want("encryption")) out.push(...(await encryptionOverhead(server.url)), "")
    if (want("pool")) {
      log("pool starvation ...")
      out.push(...(await poolStarvation(server.url)), "")
    }
    if (want("scale")) out.push(...(await scaleBench(server.url)), "")
    if (want("better-auth")) out.push(...(await betterAuthSideBySide(server.url, log, count)), "")
    out.push(`total bench time ${fmt((performance.now() - t0) / 1000, 1)} s`)
    process.stdout.write(`${out.join("\n")}\n`)
  } finally {
    await server.stop()
  }
}

main()
  // A child run (one TypeORM cell) leaves the Redis and DynamoDB servers it started for the skipped cells.
  .then(() => process.env[CHILD_CELL_ENV] && process.exit(0))
  .catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    process.exit(1)
  })
