/**
 * Cross-process invalidation of the token cache on PostgreSQL: a trigger on the accounts table (and,
 * for database sessions, on the sessions table) sends `NOTIFY` with the row's user id on every insert,
 * update and delete (a sign-in's sync, a refresh, a re-authentication mark, an unlink, a user's deletion,
 * a sign-out, and any write the app makes itself); every process LISTENs on one held connection and
 * drops that user's entries.
 *
 * Why a trigger, not a NOTIFY sent by this library: it costs no extra statement, it also sees the writes
 * the library does not make (the bare adapter's unlinkAccount and deleteUser, the app's own SQL), and
 * PostgreSQL delivers it only when the writing transaction commits, after the write is visible.
 *
 * The bound: an entry may be served until the notification reaches the process (measured by
 * `pnpm bench --only=cache`), and never longer than `maxAgeMs`. While the listening connection is down
 * (lost, being re-established, heartbeat unanswered), the cache serves nothing.
 */
import { boundedRead } from "../bounded-wait.js"
import { InvalidOptionsError } from "../errors.js"
import type { InvalidationListener, TokenCacheInvalidation } from "./token-cache.js"

/** The channel, trigger and function names the SQL below creates. */
export const TOKEN_CACHE_CHANNEL = "authjs_token_cache"
export const TOKEN_CACHE_TRIGGER = "authjs_token_cache_notify"

export interface PgNotifyTables {
  /** The accounts table as named in the database (unquoted, case as created), e.g. "accounts" or "Account". */
  accountsTable: string
  /** The sessions table, for database sessions: a deleted session (sign-out) drops its user's entries. */
  sessionsTable?: string
  /** The tables' schema; absent: resolved through the search_path. */
  schema?: string
  /** The user id column of both tables. Default "userId". */
  userIdColumn?: string
  /** The NOTIFY channel. Default "authjs_token_cache". */
  channel?: string
}

const quoteIdentifier = (name: string): string => `"${name.replaceAll('"', '""')}"`
const quoteLiteral = (text: string): string => `'${text.replaceAll("'", "''")}'`

function checkName(option: string, value: unknown): string {
  if (typeof value !== "string" || value === "" || value.includes("\u0000")) {
    throw new InvalidOptionsError(option, `pgNotify: ${option} must be a non-empty table or column name.`)
  }
  return value
}

function resolveTables(tables: PgNotifyTables) {
  if (typeof tables !== "object" || tables === null)
    throw new InvalidOptionsError(
      "tables",
      "pgNotify: pass { accountsTable, sessionsTable?, schema?, userIdColumn?, channel? }.",
    )
  const schema = tables.schema === undefined ? undefined : checkName("schema", tables.schema)
  const qualified = (table: string) =>
    schema ? `${quoteIdentifier(schema)}.${quoteIdentifier(table)}` : quoteIdentifier(table)
  const channel = tables.channel === undefined ? TOKEN_CACHE_CHANNEL : checkName("channel", tables.channel)
  return {
    accounts: qualified(checkName("accountsTable", tables.accountsTable)),
    sessions:
      tables.sessionsTable === undefined ? undefined : qualified(checkName("sessionsTable", tables.sessionsTable)),
    functionName: schema ? `${quoteIdentifier(schema)}.${TOKEN_CACHE_TRIGGER}` : TOKEN_CACHE_TRIGGER,
    userIdColumn: tables.userIdColumn === undefined ? "userId" : checkName("userIdColumn", tables.userIdColumn),
    channel,
  }
}

/**
 * The migration that installs the triggers: run it once (it is idempotent), e.g. in a Prisma or Drizzle
 * migration. The payload is "u:" and the user id, or "*" (TRUNCATE, or a row without the column): drop all.
 */
export function pgNotifyTriggerSql(tables: PgNotifyTables): string {
  const t = resolveTables(tables)
  const args = `${quoteLiteral(t.channel)}, ${quoteLiteral(t.userIdColumn)}`
  const statements = [
    `CREATE OR REPLACE FUNCTION ${t.functionName}() RETURNS trigger LANGUAGE plpgsql AS $authjs$
BEGIN
  IF TG_LEVEL = 'STATEMENT' THEN
    PERFORM pg_notify(TG_ARGV[0], '*');
    RETURN NULL;
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    PERFORM pg_notify(TG_ARGV[0], coalesce('u:' || (to_jsonb(OLD) ->> TG_ARGV[1]), '*'));
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    PERFORM pg_notify(TG_ARGV[0], coalesce('u:' || (to_jsonb(NEW) ->> TG_ARGV[1]), '*'));
  END IF;
  RETURN NULL;
END
$authjs$`,
    `DROP TRIGGER IF EXISTS ${TOKEN_CACHE_TRIGGER} ON ${t.accounts}`,
    `CREATE TRIGGER ${TOKEN_CACHE_TRIGGER} AFTER INSERT OR UPDATE OR DELETE ` +
      `ON ${t.accounts} FOR EACH ROW EXECUTE FUNCTION ${t.functionName}(${args})`,
    `DROP TRIGGER IF EXISTS ${TOKEN_CACHE_TRIGGER}_truncate ON ${t.accounts}`,
    `CREATE TRIGGER ${TOKEN_CACHE_TRIGGER}_truncate AFTER TRUNCATE ON ` +
      `${t.accounts} FOR EACH STATEMENT EXECUTE FUNCTION ${t.functionName}(${args})`,
  ]
  if (t.sessions) {
    // Only deletes: database sessions are updated on every request, and an expiry change says nothing about tokens.
    statements.push(
      `DROP TRIGGER IF EXISTS ${TOKEN_CACHE_TRIGGER} ON ${t.sessions}`,
      `CREATE TRIGGER ${TOKEN_CACHE_TRIGGER} AFTER DELETE ON ${t.sessions} ` +
        `FOR EACH ROW EXECUTE FUNCTION ${t.functionName}(${args})`,
    )
  }
  return statements.map((statement) => `${statement};\n`).join("")
}

/** A notification as node-postgres delivers it. */
export interface PgNotification {
  channel: string
  payload?: string | undefined
}

/** The part of a node-postgres PoolClient the listener uses. */
export interface PgListenClient {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>
  on(event: "notification", listener: (message: PgNotification) => void): unknown
  on(event: "error", listener: (error: Error) => void): unknown
  on(event: "end", listener: () => void): unknown
  release(destroy?: boolean | Error): void
}

/** A node-postgres Pool (one connection is held for LISTEN while the cache runs). */
export interface PgListenPool {
  connect(): Promise<PgListenClient>
}

export interface PgNotifyInvalidationOptions extends PgNotifyTables {
  pool: PgListenPool
  /**
   * How often the held connection is checked with `SELECT 1`, ms; unanswered in half of it: reconnect. Default 10 000.
   */
  heartbeatMs?: number
  /** First delay before reconnecting, ms, doubled up to 10 s. Default 250. */
  reconnectMs?: number
}

/**
 * `refresh.cache.invalidation` for PostgreSQL. Holds one connection of `pool` for LISTEN; checks that the
 * triggers of `pgNotifyTriggerSql` are installed on the tables (the cache never starts serving without
 * them: `adapter.tokenCache.ready()` rejects, naming the missing trigger); reconnects when the connection
 * is lost, dropping every entry, since notifications may have been missed meanwhile.
 */
export function pgNotifyInvalidation(options: PgNotifyInvalidationOptions): TokenCacheInvalidation {
  const t = resolveTables(options)
  if (typeof options.pool?.connect !== "function")
    throw new InvalidOptionsError("pool", "pgNotifyInvalidation: pool must be a node-postgres Pool.")
  const heartbeatMs = options.heartbeatMs ?? 10_000
  const firstDelayMs = options.reconnectMs ?? 250
  const tables = [t.accounts, ...(t.sessions ? [t.sessions] : [])]

  return {
    subscribe(listener: InvalidationListener) {
      let closed = false
      let client: PgListenClient | undefined
      let heartbeat: ReturnType<typeof setInterval> | undefined
      let retry: ReturnType<typeof setTimeout> | undefined
      let delayMs = firstDelayMs

      const onNotification = (message: PgNotification) => {
        if (message.channel !== t.channel) return
        const payload = message.payload ?? ""
        // Anything but our own "u:<id>" (another writer on the channel) drops everything: safe.
        if (payload.startsWith("u:") && payload.length > 2) listener.user(payload.slice(2))
        else listener.all()
      }

      /** The next attempt to listen, after a delay doubled each time up to 10 s (reset once listening). */
      const scheduleReconnect = () => {
        if (closed || retry) return
        retry = setTimeout(() => void connect(), delayMs)
        retry.unref()
        delayMs = Math.min(delayMs * 2, 10_000)
      }

      const teardown = (held: PgListenClient, error?: Error) => {
        if (client !== held) return
        client = undefined
        if (heartbeat) clearInterval(heartbeat)
        heartbeat = undefined
        listener.listening(false)
        held.release(error ?? true)
        scheduleReconnect()
      }

      const connect = async () => {
        retry = undefined
        let held: PgListenClient | undefined
        try {
          held = await options.pool.connect()
          if (closed) return held.release(true)
          const current = held
          client = current
          current.on("notification", onNotification)
          current.on("error", (error) => teardown(current, error))
          current.on("end", () => teardown(current))
          await current.query(`LISTEN ${quoteIdentifier(t.channel)}`)
          for (const table of tables) {
            const found = await current.query(
              "SELECT 1 FROM pg_trigger WHERE tgname = $1 AND tgrelid = to_regclass($2)",
              [TOKEN_CACHE_TRIGGER, table],
            )
            if (found.rows.length === 0) {
              throw new InvalidOptionsError(
                "refresh.cache.invalidation",
                `pgNotifyInvalidation: the table ${table} has no ${TOKEN_CACHE_TRIGGER} trigger, so writes ` +
                  `elsewhere would go unheard; run the SQL of pgNotifyTriggerSql(...) once (a migration).`,
              )
            }
          }
          if (closed || client !== current) return
          delayMs = firstDelayMs
          heartbeat = setInterval(() => {
            boundedRead(
              heartbeatMs / 2,
              () => new Error("heartbeat unanswered"),
              () => current.query("SELECT 1"),
            ).catch((error: Error) => teardown(current, error))
          }, heartbeatMs)
          heartbeat.unref()
          listener.listening(true)
        } catch (error) {
          const failure = error instanceof Error ? error : new Error(String(error))
          // The error names what is wrong (the pool's own error, or the missing trigger); no token is in scope here.
          listener.failed(failure)
          if (held && client === held) teardown(held, failure)
          else scheduleReconnect()
        }
      }

      void connect()
      return {
        async close() {
          closed = true
          if (retry) clearTimeout(retry)
          const held = client
          if (held) teardown(held)
        },
      }
    },
  }
}
