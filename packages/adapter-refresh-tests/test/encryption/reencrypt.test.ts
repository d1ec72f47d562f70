/**
 * The re-encryption job on real PostgreSQL with each store: a table mixing plaintext rows (from before
 * encryption), rows under an older key and rows under the current key ends with every token on the
 * current key and every value intact, while sign-ins keep writing; interrupted (AbortSignal in process,
 * SIGKILL of a child process) and restarted from the last reported cursor.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"
import { randomUUID } from "node:crypto"
import type { AdapterAccount } from "@auth/core/adapters"
import {
  InvalidOptionsError,
  reencryptAccounts,
  tokenEncryption,
  withTokenSync,
  type ReencryptProgress,
  type TokenSyncAdapter,
} from "authjs-adapter-refresh"
import { randomKeyString } from "../../src/encryption/at-rest.js"
import { startReencryptProcess } from "../../src/encryption/reencrypt-process.js"
import { testDatabase, type TestDatabase } from "../../src/harness/postgres.js"
import {
  applySchema,
  createFixture,
  PG_CELLS,
  SCHEMA_TABLES,
  type DatabaseFixture,
} from "../../src/fixtures/databases.js"

const FIELDS = ["access_token", "refresh_token"] as const
type Expected = Map<
  string,
  { provider: string; providerAccountId: string; access_token: string; refresh_token: string }
>

describe.each(PG_CELLS)("reencryptAccounts, %s store on real PostgreSQL", (cell) => {
  let database: TestDatabase
  let fixture: DatabaseFixture<unknown>
  const oldKeys = randomKeyString("2026-06")
  const newKeys = `${randomKeyString("2026-12")},${oldKeys}`
  const codec = tokenEncryption({ keys: newKeys })
  let adapters: { plain: TokenSyncAdapter; old: TokenSyncAdapter; current: TokenSyncAdapter }

  beforeAll(async () => {
    database = await testDatabase(`reenc_${cell}`)
    await applySchema(cell, database.url)
    fixture = await createFixture(cell, database.url)
    const wrap = (keys?: string) =>
      withTokenSync(fixture.adapter, fixture.db as object, keys ? { codec: tokenEncryption({ keys }) } : {})
    adapters = { plain: wrap(), old: wrap(oldKeys), current: wrap(newKeys) }
  }, 60_000)
  afterAll(async () => {
    await fixture?.close()
    await database?.drop()
  })

  /** `perKind` accounts each in plaintext, under the old key and under the current key, at `provider`. */
  async function populate(provider: string, perKind: number): Promise<Expected> {
    const expected: Expected = new Map()
    for (const adapter of [adapters.plain, adapters.old, adapters.current]) {
      for (let i = 0; i < perKind; i++) {
        const userId = await fixture.insertUser(`${randomUUID()}@example.test`)
        const account = {
          provider,
          providerAccountId: randomUUID(),
          access_token: `at-${randomUUID()}`,
          refresh_token: `rt-${randomUUID()}`,
        }
        await adapter.linkAccount({ ...account, userId, type: "oidc" } as AdapterAccount)
        expected.set(account.providerAccountId, account)
      }
    }
    return expected
  }

  /**
   * Sign-ins going on meanwhile (current key), each bringing new tokens, round robin over a few accounts
   * (a write re-encrypts its row, so sign-ins over all of them would leave the job nothing to do).
   * Returns a stop function.
   */
  function signInsMeanwhile(expected: Expected): () => Promise<number> {
    let running = true
    let count = 0
    const all = [...expected.keys()]
    const ids = [all[0]!, all[Math.floor(all.length / 2)]!, all.at(-1)!]
    const loop = (async () => {
      while (running) {
        const account = expected.get(ids[count % ids.length]!)!
        const next = { ...account, access_token: `at-${randomUUID()}`, refresh_token: `rt-${randomUUID()}` }
        await adapters.current.syncAccount(next)
        expected.set(account.providerAccountId, next)
        count++
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
    })()
    return async () => {
      running = false
      await loop
      return count
    }
  }

  async function rowsAt(provider: string) {
    const { accounts } = SCHEMA_TABLES[cell]
    return (await fixture.pool.query(`SELECT * FROM ${accounts} WHERE "provider" = $1`, [provider])).rows as Record<
      string,
      unknown
    >[]
  }
  const staleCount = async (provider: string) =>
    (await rowsAt(provider)).filter((row) => FIELDS.some((field) => !codec.isCurrent(String(row[field])))).length

  async function expectAllCurrentAndIntact(provider: string, expected: Expected) {
    const rows = await rowsAt(provider)
    expect(rows).toHaveLength(expected.size)
    for (const row of rows) {
      const want = expected.get(String(row.providerAccountId))!
      for (const field of FIELDS) {
        expect(codec.keyIdOf(String(row[field]))).toBe("2026-12")
        expect(codec.decode(String(row[field]), field, want)).toBe(want[field])
      }
    }
  }
  test("aborted by its AbortSignal mid-run and resumed from the cursor, with sign-ins going on: every row on the current key, no value lost", async () => {
    const provider = "reenc-abort"
    const expected = await populate(provider, 8)
    const before = await staleCount(provider)
    expect(before).toBe(16)

    const controller = new AbortController()
    const reports: ReencryptProgress[] = []
    const stopSignIns = signInsMeanwhile(expected)
    try {
      const first = await reencryptAccounts(fixture.db as object, {
        codec,
        batchSize: 3,
        signal: controller.signal,
        onProgress: (progress) => {
          reports.push(progress)
          if (reports.length === 2) controller.abort()
        },
      })
      expect(first).toMatchObject({ aborted: true, done: false, failed: 0 })
      expect(first.cursor).toEqual(reports[1]!.cursor)
      expect(await staleCount(provider)).toBeGreaterThan(0)

      const second = await reencryptAccounts(fixture.db as object, { codec, batchSize: 3, after: first.cursor! })
      expect(await stopSignIns()).toBeGreaterThan(0)
      expect(second).toMatchObject({ aborted: false, done: true, failed: 0, failures: [] })
      expect(first.scanned + second.scanned).toBe(expected.size)
      await expectAllCurrentAndIntact(provider, expected)
    } finally {
      await stopSignIns()
    }
  }, 60_000)
  test("its process killed (SIGKILL) mid-run and started again from the last reported cursor: every row on the current key, no value lost", async () => {
    const provider = "reenc-kill"
    const expected = await populate(provider, 10)
    const killed = startReencryptProcess({
      cell,
      databaseUrl: database.url,
      keys: newKeys,
      batchSize: 4,
      pauseMs: 150,
    })
    await killed.waitForProgress(() => true, 30_000)
    const stopSignIns = signInsMeanwhile(expected)
    try {
      const seen = await killed.waitForProgress((p) => p.scanned >= 8 && !p.done, 30_000)
      killed.child.kill("SIGKILL")
      const exit = await killed.exited
      expect({ signal: exit.signal, result: exit.result }).toEqual({ signal: "SIGKILL", result: undefined })
      expect(await staleCount(provider)).toBeGreaterThan(0)

      const cursor = killed.progress.at(-1)!.cursor!
      expect(killed.progress.at(-1)!.scanned).toBeGreaterThanOrEqual(seen.scanned)
      const restarted = startReencryptProcess({
        cell,
        databaseUrl: database.url,
        keys: newKeys,
        batchSize: 4,
        after: cursor,
      })
      const done = await restarted.exited
      expect(await stopSignIns()).toBeGreaterThan(0)
      expect({ code: done.code, stderr: done.stderr }).toEqual({ code: 0, stderr: "" })
      expect(done.result).toMatchObject({ done: true, aborted: false, failed: 0 })
      await expectAllCurrentAndIntact(provider, expected)
    } finally {
      await stopSignIns()
      for (const run of [killed])
        if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill("SIGKILL")
    }
  }, 90_000)

  test("options that cannot work are refused with InvalidOptionsError before any row is read", async () => {
    const identity = { fields: ["access_token"], encode: (v: string) => v, decode: (v: string) => v }
    for (const [options, option] of [
      [{ codec: identity }, "codec"],
      [{ codec, batchSize: 0 }, "batchSize"],
      [{ codec, batchSize: 2.5 }, "batchSize"],
    ] as const) {
      const error = await reencryptAccounts(fixture.db as object, options).then(
        () => undefined,
        (caught: unknown) => caught,
      )
      expect(error).toBeInstanceOf(InvalidOptionsError)
      expect(error).toMatchObject({ code: "INVALID_OPTIONS", option })
    }
  })
  test("a row that does not decrypt is reported by key and column, left as it is, and does not stop the job", async () => {
    const provider = "reenc-bad"
    const expected = await populate(provider, 2)
    const victim = [...expected.values()][2]! // under the old key
    const { accounts } = SCHEMA_TABLES[cell]
    const [row] = await fixture.accountRows(victim)
    const tampered = `${String(row!.refresh_token).slice(0, -4)}AAAA`
    await fixture.pool.query(
      `UPDATE ${accounts} SET "refresh_token" = $3 WHERE "provider" = $1 AND "providerAccountId" = $2`,
      [provider, victim.providerAccountId, tampered],
    )

    const result = await reencryptAccounts(fixture.db as object, { codec, batchSize: 2 })
    expect(result.failures).toEqual([
      {
        provider,
        providerAccountId: victim.providerAccountId,
        field: "refresh_token",
        reason: "authentication_failed",
      },
    ])
    expect(result.done).toBe(true)
    const [after] = await fixture.accountRows(victim)
    expect({ access_token: after!.access_token, refresh_token: after!.refresh_token }).toEqual({
      access_token: row!.access_token,
      refresh_token: tampered,
    })
    expect(JSON.stringify(result)).not.toContain(victim.refresh_token)
  }, 30_000)
})
