/**
 * One process of lease-sqlite-busy.test.ts: a Kysely store on the shared SQLite file, whose connection
 * waits `busyTimeoutMs` for the file's write lock, takes one key's lease `takes` times in a row (holding
 * each lease taken for `holdMs`, then releasing it) and reports each take's result.
 */
import { randomBytes } from "node:crypto"
import type { Database as KyselyDatabase } from "@auth/kysely-adapter"
import { kyselyAccountStore } from "authjs-adapter-refresh/stores/kysely"
import { Kysely, SqliteDialect } from "kysely"
import { openSqlite } from "../../src/harness/sqlite.js"
import { errorLabel, runBarrierWorker } from "../../src/kit/barrier-worker.js"

/** What the test sends each worker. */
export interface LeaseTakeWorkerConfig {
  path: string
  /** The key's provider account id (provider "sqlite-busy"). */
  providerAccountId: string
  busyTimeoutMs: number
  takes: number
  holdMs: number
}

/**
 * One take: taken (with its fence and the releases that found the file busy before one went through), busy,
 * or an error's name and code.
 */
export interface LeaseTakeOutcome {
  result: "taken" | "busy" | "error"
  fence?: string
  busyReleases?: string[]
  error?: string
}

const config = JSON.parse(process.argv[2] ?? "{}") as LeaseTakeWorkerConfig
const key = { provider: "sqlite-busy", providerAccountId: config.providerAccountId }
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

await runBarrierWorker(
  async () => {
    const db = new Kysely<KyselyDatabase>({
      dialect: new SqliteDialect({ database: openSqlite(config.path, { busyTimeoutMs: config.busyTimeoutMs }) }),
    })
    return { db, leases: kyselyAccountStore(db).leases! }
  },
  async ({ leases }) => {
    const outcomes: LeaseTakeOutcome[] = []
    for (let i = 0; i < config.takes; i++) {
      try {
        const took = await leases.take(key, randomBytes(16).toString("hex"), 10_000)
        if (!took.taken) {
          outcomes.push({ result: "busy" })
          continue
        }
        await sleep(config.holdMs)
        // A release that found the file busy changed nothing: sent again (bounded), so the next take need
        // not wait for the lease to end by itself.
        const busyReleases: string[] = []
        for (let attempt = 0; ; attempt++) {
          try {
            await leases.release(key, took.lease)
            break
          } catch (error) {
            const lockTimeout = (error as { lockTimeout?: unknown }).lockTimeout === true
            busyReleases.push(`${errorLabel(error)}${lockTimeout ? " lockTimeout" : ""}`)
            if (!lockTimeout || attempt >= 200) throw error
            await sleep(2)
          }
        }
        outcomes.push({ result: "taken", fence: took.lease.fence, busyReleases })
      } catch (error) {
        outcomes.push({ result: "error", error: errorLabel(error) })
      }
    }
    return outcomes
  },
  ({ db }) => db.destroy(),
)
