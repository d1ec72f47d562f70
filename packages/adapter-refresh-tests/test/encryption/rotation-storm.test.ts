/**
 * A key rotation during a refresh storm, against the real rotating provider (reusing a consumed refresh
 * token fails and revokes the grant), in several OS processes: the rolling deploy of the README's
 * rotation procedure. Half of the processes still encrypt with the old key ("old,new"), half already
 * with the new one ("new,old"), and the re-encryption job runs in the middle of that storm; then all rotated. Each
 * expiry still gets exactly one refresh grant, every caller gets the one new token, and the stored
 * refresh token is the provider's last one, on the current key.
 */
import { describe, expect, test } from "@jest/globals"
import { createHash } from "node:crypto"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { reencryptAccounts, tokenEncryption } from "authjs-adapter-refresh"
import { randomKeyString } from "../../src/encryption/at-rest.js"
import type { TestDatabase } from "../../src/harness/postgres.js"
import { runBarrierWorkers } from "../../src/kit/barrier-workers.js"
import type { StormOutcome, StormWorkerConfig } from "../../src/refresh-bench/storm-protocol.js"
import type { RefreshScenario } from "../../src/refresh-bench/scenario.js"
import { PG_CELLS } from "../../src/fixtures/databases.js"
import { useRefreshScenario } from "../refresh/scenario-hooks.js"

const PROCESSES = 4
const CALLERS = 15
const EXPIRIES = 2
const stormWorker = join(dirname(fileURLToPath(import.meta.url)), "../../src/refresh-bench/storm-worker.ts")
const fingerprint = (token: string): string => createHash("sha256").update(token).digest("hex").slice(0, 16)

const oldKey = randomKeyString("2026-06")
const newKey = randomKeyString("2026-12")
const beforeRotation = `${oldKey},${newKey}` // phase 1: the new key is known everywhere, not used yet
const afterRotation = `${newKey},${oldKey}` // phase 2: the new key encrypts

describe.each(PG_CELLS)("key rotation during a refresh storm, %s store", (cell) => {
  let db: TestDatabase
  let s: RefreshScenario
  const reader = tokenEncryption({ keys: afterRotation })

  useRefreshScenario(
    `enc_storm_${cell}`,
    {
      cell,
      login: `rotate-${cell}`,
      skewSeconds: 0,
      provider: { accessTokenTtl: 3 },
      codec: tokenEncryption({ keys: beforeRotation }),
    },
    (started) => {
      ;({ db, s } = started)
    },
  )
  test(`${PROCESSES} processes x ${CALLERS} callers over ${EXPIRIES} expiries, half on each key, the job mid-storm: no token lost, one grant per expiry`, async () => {
    expect(reader.keyIdOf(String((await s.row()).refresh_token))).toBe("2026-06")
    for (let expiry = 1; expiry <= EXPIRIES; expiry++) {
      const base: StormWorkerConfig = {
        cell,
        databaseUrl: db.url,
        provider: s.provider,
        userId: s.userId,
        providerAccountId: s.key.providerAccountId,
        mode: "library",
        skewSeconds: 0,
        callers: CALLERS,
      }
      // Expiry 1: a rolling deploy, half the processes on each key list; expiry 2: all rotated.
      const configs = Array.from({ length: PROCESSES }, (_, index) => ({
        ...base,
        encryptionKeys: expiry < EXPIRIES && index % 2 === 0 ? beforeRotation : afterRotation,
      }))
      const grantsBefore = s.op.stats.refreshGrants
      let job: Promise<unknown> = Promise.resolve()
      const run = await runBarrierWorkers<StormOutcome>(stormWorker, configs, {
        beforeGo: async () => {
          await s.waitForExpiry(0)
          // The re-encryption job races the rolling-deploy storm.
          if (expiry === 1) job = reencryptAccounts(s.fixture.db as object, { codec: reader, batchSize: 1 })
        },
        timeoutMs: 60_000,
      })
      await job
      const outcomes = run.processes.flatMap((p) => p.outcomes)
      expect({ expiry, failures: outcomes.filter((o) => !o.ok).map((o) => o.error) }).toEqual({ expiry, failures: [] })
      expect(outcomes).toHaveLength(PROCESSES * CALLERS)
      expect({ expiry, refreshGrants: s.op.stats.refreshGrants - grantsBefore }).toEqual({ expiry, refreshGrants: 1 })

      const stored = await s.row()
      const plain = (field: "access_token" | "refresh_token") => reader.decode(String(stored[field]), field, s.key)
      expect([...new Set(outcomes.map((o) => o.tokenFingerprint))]).toEqual([fingerprint(plain("access_token"))])
      expect(plain("access_token")).toBe(s.op.lastIssued("access_token")!.value)
      expect(plain("refresh_token")).toBe(s.op.lastIssued("refresh_token")!.value)
      expect(String(stored.refresh_token)).not.toContain(s.op.lastIssued("refresh_token")!.value)
      expect(s.op.stats.refreshErrors).toEqual([])
      expect(s.op.stats.grantsRevoked).toBe(0)
    }
    // All rotated: the stored tokens are on the new key, and the grant is alive.
    const stored = await s.row()
    expect([reader.keyIdOf(String(stored.access_token)), reader.keyIdOf(String(stored.refresh_token))]).toEqual([
      "2026-12",
      "2026-12",
    ])
    expect((await s.op.refresh(reader.decode(String(stored.refresh_token), "refresh_token", s.key))).status).toBe(200)
  }, 150_000)
})
