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
 * `pnpm bench --only=cache`), and never longer than `maxAgeMs`. The heartbeat is end to end: every
 * `heartbeatMs` a NOTIFY sent from another connection (`notifyPool`, the app's pool) must be heard on the
 * listening one within `heartbeatMs / 2`, and the triggers must be there, enabled, with this channel and
 * column. So a path that hears nothing (a transaction-mode pooler, a trigger on another channel or
 * disabled, a connection dropped silently) stops the cache from serving within 1.5 x `heartbeatMs` of the
 * last answered heartbeat. While it is unhealthy the cache serves nothing: every read goes to the row.
 *
 * Why the trigger function pins its search_path and reads one column: it runs with the rights of whoever
 * writes the row. Unqualified calls on the whole row (to_jsonb(NEW)) would let a role that can create a
 * function in a schema on the writer's search_path receive every account row, tokens included.
 */
import { randomUUID } from "node:crypto"
import { boundedRead } from "../bounded-wait.js"
import { InvalidOptionsError } from "../errors.js"
import type { InvalidationListener, TokenCacheInvalidation } from "./token-cache.js"

/** The default NOTIFY channel of {@link pgNotifyTriggerSql} and {@link pgNotifyInvalidation}. */
export const TOKEN_CACHE_CHANNEL = "authjs_token_cache"
/** The name of the trigger and of its function that {@link pgNotifyTriggerSql} creates. */
export const TOKEN_CACHE_TRIGGER = "authjs_token_cache_notify"

/** The tables whose writes invalidate cached tokens, as named in the database. */
export interface PgNotifyTables {
  /** The accounts table as named in the database (unquoted, case as created), e.g. "accounts" or "Account". */
  accountsTable: string
  /** The sessions table, for database sessions: a deleted session (sign-out) drops its user's entries. */
  sessionsTable?: string
  /** The tables' schema; absent: resolved through the search_path. */
  schema?: string
  /** The user id column of both tables. Default "userId". */
  userIdColumn?: string
  /** The NOTIFY channel. Default "authjs_token_cache". At most 63 bytes in UTF-8 (PostgreSQL's identifier limit). */
  channel?: string
}

/** PostgreSQL truncates identifiers, LISTEN's channel among them, to 63 bytes (NAMEDATALEN - 1). */
const MAX_CHANNEL_BYTES = 63

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
  // LISTEN would silently listen on the truncated name while pg_notify refuses the long one, failing every write.
  const channelBytes = Buffer.byteLength(channel, "utf8")
  if (channelBytes > MAX_CHANNEL_BYTES) {
    throw new InvalidOptionsError(
      "channel",
      `pgNotify: channel is ${channelBytes} bytes in UTF-8; PostgreSQL allows at most ${MAX_CHANNEL_BYTES} ` +
        "(LISTEN would truncate it and pg_notify would refuse it, failing every account write).",
    )
  }
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
 *
 * @returns The SQL text (CREATE OR REPLACE FUNCTION and the triggers), one statement per line group.
 * @throws {@link InvalidOptionsError} for a table, schema, column or channel name it cannot quote safely.
 */
export function pgNotifyTriggerSql(tables: PgNotifyTables): string {
  const t = resolveTables(tables)
  const args = `${quoteLiteral(t.channel)}, ${quoteLiteral(t.userIdColumn)}`
  const statements = [
    // SECURITY INVOKER runs as the writer: the search_path is pinned and every call qualified, so no
    // function planted in a schema on the writer's path is reached; only the user id column is read
    // (EXECUTE ... USING NEW), never the token columns.
    `CREATE OR REPLACE FUNCTION ${t.functionName}() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $authjs$
DECLARE
  user_id text;
BEGIN
  IF TG_LEVEL = 'STATEMENT' THEN
    PERFORM pg_catalog.pg_notify(TG_ARGV[0], '*');
    RETURN NULL;
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    BEGIN
      EXECUTE pg_catalog.format('SELECT ($1).%I::text', TG_ARGV[1]) INTO user_id USING OLD;
    EXCEPTION WHEN undefined_column THEN
      user_id := NULL;
    END;
    PERFORM pg_catalog.pg_notify(TG_ARGV[0],
      CASE WHEN user_id IS NULL THEN '*' ELSE pg_catalog.concat('u:', user_id) END);
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    BEGIN
      EXECUTE pg_catalog.format('SELECT ($1).%I::text', TG_ARGV[1]) INTO user_id USING NEW;
    EXCEPTION WHEN undefined_column THEN
      user_id := NULL;
    END;
    PERFORM pg_catalog.pg_notify(TG_ARGV[0],
      CASE WHEN user_id IS NULL THEN '*' ELSE pg_catalog.concat('u:', user_id) END);
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

/** Options of {@link pgNotifyInvalidation}: the tables, the pool to LISTEN on, and its health checks. */
export interface PgNotifyInvalidationOptions extends PgNotifyTables {
  /**
   * Where the listening connection comes from (one is held while the cache runs). It must reach the
   * server directly or through a session-mode pooler: behind a transaction-mode pooler (PgBouncer,
   * Supavisor) LISTEN does not stay on the connection, the heartbeat is never heard, and the cache never serves.
   */
  pool: PgListenPool
  /**
   * The app's pool: the heartbeat's NOTIFY is sent through it, as a real write would be, and must be heard
   * on the listening connection. Default: a second connection of `pool` (which then needs room for two).
   */
  notifyPool?: { query(text: string, values?: unknown[]): Promise<unknown> }
  /**
   * How often the path is checked end to end, ms: the triggers are there and enabled with this channel
   * and column, and a NOTIFY sent from `notifyPool` is heard on the listening connection within half of
   * it; else the cache stops serving and reconnects. A path broken silently is noticed within 1.5 x
   * `heartbeatMs`. Default 2 000.
   */
  heartbeatMs?: number
  /** First delay before reconnecting, ms, doubled up to 10 s. Default 250. */
  reconnectMs?: number
}

/** The trigger of `table` is missing, disabled, or installed for another channel or column. */
const triggerProblem = (table: string, problem: string, channel: string, column: string): InvalidOptionsError =>
  new InvalidOptionsError(
    "refresh.cache.invalidation",
    `pgNotifyInvalidation: the table ${table} ${problem}, so writes elsewhere would go unheard; ` +
      `run the SQL of pgNotifyTriggerSql(...) with channel "${channel}" and userIdColumn "${column}" once ` +
      "(a migration), and keep the trigger enabled.",
  )

/**
 * `refresh.cache.invalidation` for PostgreSQL. Holds one connection of `pool` for LISTEN; before it lets
 * the cache serve, and then every `heartbeatMs`, checks that the triggers of `pgNotifyTriggerSql` are on
 * the tables, enabled, with this channel and column, and that a NOTIFY sent from another connection is
 * heard (a failure: `adapter.tokenCache.ready()` rejects naming it, and the cache serves nothing);
 * reconnects when the connection is lost or a check fails, dropping every entry, since notifications may
 * have been missed meanwhile.
 *
 * @returns The value to pass as `refresh.cache.invalidation`.
 * @throws {@link InvalidOptionsError} for a name it cannot quote safely, a channel over 63 bytes, or a `pool` that
 *   is not a Pool; a failed check rejects `adapter.tokenCache.ready()`.
 * @example
 * ```ts
 * refresh: { providers, cache: { invalidation: pgNotifyInvalidation({ pool, accountsTable: "accounts" }) } }
 * ```
 */
export function pgNotifyInvalidation(options: PgNotifyInvalidationOptions): TokenCacheInvalidation {
  const t = resolveTables(options)
  if (typeof options.pool?.connect !== "function")
    throw new InvalidOptionsError("pool", "pgNotifyInvalidation: pool must be a node-postgres Pool.")
  if (options.notifyPool !== undefined && typeof options.notifyPool?.query !== "function")
    throw new InvalidOptionsError("notifyPool", "pgNotifyInvalidation: notifyPool must be a node-postgres Pool.")
  const heartbeatMs = options.heartbeatMs ?? 2_000
  if (!Number.isSafeInteger(heartbeatMs) || heartbeatMs < 2)
    throw new InvalidOptionsError("heartbeatMs", "pgNotifyInvalidation: heartbeatMs must be an integer of at least 2.")
  const checkMs = Math.floor(heartbeatMs / 2)
  const firstDelayMs = options.reconnectMs ?? 250
  const tables = [t.accounts, ...(t.sessions ? [t.sessions] : [])]
  // The trigger's arguments as pg_trigger.tgargs stores them: each one followed by a NUL byte.
  const expectedArgs = `${t.channel}\u0000${t.userIdColumn}\u0000`

  /** Sends one NOTIFY from a connection other than the listening one. */
  let probeConnect: Promise<unknown> | undefined
  const sendProbe = async (payload: string): Promise<void> => {
    const sql = "SELECT pg_catalog.pg_notify($1, $2)"
    if (options.notifyPool) {
      await options.notifyPool.query(sql, [t.channel, payload])
      return
    }
    // A pool with no room for a second connection would queue one request per heartbeat: keep one at most.
    if (probeConnect) throw new Error("the previous heartbeat is still waiting for a second connection of pool")
    const connecting = options.pool.connect()
    probeConnect = connecting
    let other: PgListenClient
    try {
      other = await connecting
    } finally {
      probeConnect = undefined
    }
    try {
      await other.query(sql, [t.channel, payload])
    } finally {
      other.release()
    }
  }

  return {
    subscribe(listener: InvalidationListener) {
      let closed = false
      let client: PgListenClient | undefined
      let heartbeat: ReturnType<typeof setTimeout> | undefined
      let retry: ReturnType<typeof setTimeout> | undefined
      let delayMs = firstDelayMs
      /** The heartbeat payloads sent and not heard yet, with what to call when they are. */
      const probes = new Map<string, () => void>()

      const onNotification = (message: PgNotification) => {
        if (message.channel !== t.channel) return
        const payload = message.payload ?? ""
        if (payload.startsWith("h:")) {
          // A heartbeat: ours is heard; another process's says nothing about the rows.
          probes.get(payload)?.()
          return
        }
        // Anything but our own "u:<id>" (another writer on the channel) drops everything: safe.
        if (payload.startsWith("u:") && payload.length > 2) listener.user(payload.slice(2))
        else listener.all()
      }

      /** The triggers are there and enabled with our arguments; a NOTIFY from elsewhere is heard here. */
      const checkPath = async (held: PgListenClient, step: { now: string }, signal?: AbortSignal): Promise<void> => {
        step.now = "the triggers were not read on the listening connection"
        for (const table of tables) {
          const found = await held.query(
            "SELECT t.tgenabled::text AS enabled, t.tgargs AS args, p.proname::text AS function " +
              "FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid " +
              "WHERE t.tgname = $1 AND t.tgrelid = pg_catalog.to_regclass($2)",
            [TOKEN_CACHE_TRIGGER, table],
          )
          const row = found.rows[0] as { enabled: string; args: unknown; function: string } | undefined
          if (!row) throw triggerProblem(table, `has no ${TOKEN_CACHE_TRIGGER} trigger`, t.channel, t.userIdColumn)
          // "O" and "A" fire in ordinary sessions; "D" is disabled, "R" fires only for replication.
          if (row.enabled !== "O" && row.enabled !== "A")
            throw triggerProblem(table, `has its ${TOKEN_CACHE_TRIGGER} trigger disabled`, t.channel, t.userIdColumn)
          const args = row.args instanceof Uint8Array ? Buffer.from(row.args).toString("utf8") : String(row.args)
          if (args !== expectedArgs || row.function !== TOKEN_CACHE_TRIGGER)
            throw triggerProblem(
              table,
              `has a ${TOKEN_CACHE_TRIGGER} trigger for another channel, column or function`,
              t.channel,
              t.userIdColumn,
            )
        }
        if (signal?.aborted) return
        const payload = `h:${randomUUID()}`
        const heard = new Promise<void>((resolve, reject) => {
          probes.set(payload, resolve)
          // Given up on: settle, so that nothing waits on (or keeps) a heartbeat that was never heard.
          signal?.addEventListener("abort", () => reject(new Error("heartbeat abandoned")), { once: true })
        })
        heard.catch(() => {})
        try {
          step.now = options.notifyPool
            ? "the heartbeat's NOTIFY was not sent through notifyPool"
            : "the heartbeat's NOTIFY was not sent: pool has no second connection for it (pass notifyPool)"
          await sendProbe(payload)
          step.now =
            "a NOTIFY sent from another connection was not heard on the listening one; the listening " +
            "connection must reach PostgreSQL directly or through a session-mode pooler (not a " +
            "transaction-mode one such as PgBouncer or Supavisor)"
          await heard
        } finally {
          probes.delete(payload)
        }
      }

      /** The whole check, bounded by half the heartbeat. */
      const boundedCheck = (held: PgListenClient) => {
        const step = { now: "" }
        return boundedRead(
          checkMs,
          () => new Error(`pgNotifyInvalidation: heartbeat failed within ${checkMs} ms: ${step.now}`),
          (signal) => checkPath(held, step, signal),
        )
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
        if (heartbeat) clearTimeout(heartbeat)
        heartbeat = undefined
        listener.listening(false)
        held.release(error ?? true)
        scheduleReconnect()
      }

      /** One heartbeat after another (never two at once): each failure stops serving and reconnects. */
      const scheduleHeartbeat = (held: PgListenClient) => {
        heartbeat = setTimeout(() => {
          boundedCheck(held).then(
            () => {
              if (client === held && !closed) scheduleHeartbeat(held)
            },
            (error: unknown) => {
              if (client !== held) return
              const failure = error instanceof Error ? error : new Error(String(error))
              listener.failed(failure)
              teardown(held, failure)
            },
          )
        }, heartbeatMs)
        heartbeat.unref()
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
          await boundedCheck(current)
          if (closed || client !== current) return
          delayMs = firstDelayMs
          scheduleHeartbeat(current)
          listener.listening(true)
        } catch (error) {
          const failure = error instanceof Error ? error : new Error(String(error))
          // The error names what is wrong (the pool's own error, the trigger, the unheard heartbeat);
          // no token is in scope here.
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
