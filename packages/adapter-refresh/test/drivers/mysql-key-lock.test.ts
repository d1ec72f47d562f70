import { describe, expect, it } from "@jest/globals"
import { mysql } from "../../src/databases/mysql.js"
import { keyLockedStatements, mysqlWithKeyLock } from "../../src/drivers/mysql-key-lock.js"

const key = { provider: "p", providerAccountId: "a" }
const target = { accounts: "`accounts`", provider: "`provider`", providerAccountId: "`provider_account_id`" }

/** A runner that records what it is sent and answers GET_LOCK with `got`. */
function recording(got: number) {
  const sent: { text: string; values: readonly unknown[] }[] = []
  const run = async (text: string, values: readonly unknown[]) => {
    sent.push({ text, values })
    return text.includes("GET_LOCK") ? [{ got }] : []
  }
  return { sent, run }
}

describe("mysqlWithKeyLock", () => {
  it("takes the key's named lock before mysql's own row lock, bounded in seconds, and restores as mysql does", () => {
    const own = mysql.lockStatements(key, target, 2500)
    const { take, restore } = mysqlWithKeyLock.lockStatements(key, target, 2500)
    expect(take[0]!.text).toMatch(/^SELECT GET_LOCK\(/)
    expect(take[0]!.values).toEqual(["p", "a", 2.5])
    expect(take.slice(1)).toEqual(own.take)
    expect(restore).toEqual(own.restore)
  })

  it("is mysql in everything else", () => {
    expect(mysqlWithKeyLock.classifyError).toBe(mysql.classifyError)
    expect(mysqlWithKeyLock.ownTokens).toBe(mysql.ownTokens)
    expect(mysqlWithKeyLock.begin).toBe(mysql.begin)
  })
})

describe("keyLockedStatements", () => {
  const [takeLock] = mysqlWithKeyLock.lockStatements(key, target, 1000).take

  it("a GET_LOCK that timed out (0) fails as the lock wait timeout the store reads as busy", async () => {
    const { run } = recording(0)
    const statements = keyLockedStatements(run)
    const error = await statements.run(takeLock!.text, takeLock!.values).catch((e: unknown) => e)
    expect(mysql.classifyError(error)).toEqual({ kind: "lock-timeout" })
    expect(statements.held()).toBe(false)
  })

  it.each(["commit", "rollback"] as const)("releases the lock right after %s, on the same runner", async (end) => {
    const { sent, run } = recording(1)
    const statements = keyLockedStatements(run)
    await statements.run(takeLock!.text, takeLock!.values)
    expect(statements.held()).toBe(true)
    await statements[end]()
    expect(sent.map((s) => s.text.split("(")[0])).toEqual(["SELECT GET_LOCK", end.toUpperCase(), "DO RELEASE_LOCK"])
    expect(sent[2]!.values).toEqual(["p", "a"])
    expect(statements.held()).toBe(false)
  })

  it("a failed release does not fail the COMMIT before it, and the lock counts as held (the driver destroys the connection)", async () => {
    const statements = keyLockedStatements(async (text) => {
      if (text.startsWith("DO RELEASE_LOCK")) throw new Error("connection lost")
      return text.includes("GET_LOCK") ? [{ got: 1 }] : []
    })
    await statements.run(takeLock!.text, takeLock!.values)
    // COMMIT went through: reporting its release's failure would tell the caller nothing was written.
    await expect(statements.commit()).resolves.toBeUndefined()
    expect(statements.held()).toBe(true)
  })
})
