/**
 * What the pool and scale sections share about `refresh.coordination`: the lease table each bench
 * database gets (design 3.2, PostgreSQL), and whether this build of the library runs lease mode at all.
 */
import { loadavg } from "node:os"
import type pg from "pg"
import { pgAccountStore } from "authjs-adapter-refresh"

/** The lease table of docs/design/lease-coordination.md 3.2, made in each bench database (lock mode ignores it). */
export const LEASE_TABLE_SQL =
  "CREATE TABLE IF NOT EXISTS authjs_refresh_lease (provider text NOT NULL, provider_account_id text NOT NULL, " +
  "fence bigint NOT NULL, holder text NOT NULL, lease_until timestamptz(3), " +
  "PRIMARY KEY (provider, provider_account_id))"

/** How processes exclude each other's refreshes: the library's `refresh.coordination`. */
export type Coordination = "lock" | "lease"

/**
 * Whether lease mode is in this build: the pg store offers `leases` (the store half of issue 18). Before
 * it is, a lease row would silently run lock mode, so the sections skip it and say so.
 * `AUTHJS_REFRESH_BENCH_LEASE=0` skips it anyway.
 */
export function leaseModeAvailable(pool: pg.Pool): boolean {
  if (process.env.AUTHJS_REFRESH_BENCH_LEASE === "0") return false
  return pgAccountStore(pool).leases !== undefined
}

/** The line a table prints when lease mode is not in this build. */
export const LEASE_MISSING =
  "lease mode: not in this build (the pg store has no `leases`), so no lease row; " +
  "it appears once the store and engine halves of issue 18 are merged"

/** The machine's load averages (1, 5, 15 min), printed beside results on a shared machine. */
export function loadText(): string {
  return `load average ${loadavg()
    .map((n) => n.toFixed(2))
    .join(" / ")} (1 / 5 / 15 min)`
}
