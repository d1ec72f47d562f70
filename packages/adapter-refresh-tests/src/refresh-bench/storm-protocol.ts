/** Messages between a storm runner and its worker processes (one JSON object per stdout line). */
import type { PgCell } from "../fixtures/databases.js"
import type { BarrierMessage } from "../kit/barrier-workers.js"
import type { BetterAuthAccount, BetterAuthSettings } from "./better-auth-app.js"
import type { BetterAuthOrm } from "./better-auth-orm.js"

export interface StormProviderSettings {
  id: string
  issuer: string
  clientId: string
  clientSecret: string
  tokenEndpoint: string
}

export interface StormWorkerConfig {
  /** One of the PostgreSQL cells of fixtures/databases.ts, or undefined with `fixtureModule`. */
  cell?: PgCell
  /**
   * Instead of a cell: the href of a conformance fixture module (any client on any database: see
   * src/kit/fixture.ts), which the worker imports and builds its fixture from. Library mode only.
   */
  fixtureModule?: string
  databaseUrl: string
  provider: StormProviderSettings
  userId: string
  providerAccountId: string
  /** Concurrent callers in this process. */
  callers: number
  /**
   * "library": adapter.getAccessToken; "naive": read -> refresh -> write without any coordination (the Auth.js
   * guide); "better-auth": Better Auth 1.7's server-side `auth.api.getAccessToken` (better-auth-app.ts).
   */
  mode: "library" | "naive" | "better-auth"
  skewSeconds: number
  /** Library mode: `refresh.coordination` (default "lock"). "lease" needs the fixture's lease table. */
  coordination?: "lock" | "lease"
  /** Library mode: every caller reports this access token as refused by the API (`refusedAccessToken`). */
  refusedAccessToken?: string
  /**
   * Controls only, on a cell: "always-taken" gives lease mode a store whose `leases.take` answers "taken"
   * without asking the database (no exclusion across processes), to show that a lease storm then breaks.
   */
  leaseControl?: "always-taken"
  /** The process's time zone (`TZ`), set before anything reads a date. Default: the parent's. */
  timeZone?: string
  /** When set, the process encrypts tokens at rest with `tokenEncryption({ keys })` (the env-var key string). */
  encryptionKeys?: string
  /**
   * The "better-auth" mode's instance settings and the account Better Auth linked (its own ids). `database`:
   * Better Auth's own database when it is not the cell's PostgreSQL (a mysql2 pool on the MariaDB URL, or a
   * better-sqlite3 Database on the SQLite file; a BetterAuthOrm: Better Auth's Prisma or Drizzle adapter on the
   * PostgreSQL URL or, "drizzle-sqlite", the SQLite file, better-auth-orm.ts); the worker then builds no cell fixture.
   */
  betterAuth?: BetterAuthSettings &
    BetterAuthAccount & { database?: { kind: "mariadb" | "sqlite" | BetterAuthOrm; url: string } }
}

export interface StormOutcome {
  ok: boolean
  /** SHA-256 prefix of the access token received: comparable, never the token itself. */
  tokenFingerprint?: string
  refreshed?: boolean
  /** Error class name and code only. */
  error?: string
  /** Milliseconds from "go" to the result. */
  latencyMs: number
}

export type StormMessage = BarrierMessage<StormOutcome>
