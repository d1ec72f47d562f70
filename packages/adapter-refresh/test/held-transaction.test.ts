/**
 * drivers/held-transaction.ts: a client's callback transaction (Drizzle's `db.transaction`) held open as a
 * driver connection. The client here is a FAKE that records what it would send (BEGIN, the callback, COMMIT
 * or ROLLBACK by how the callback settles), as Drizzle's sessions do; the real ones run in the Drizzle cells.
 */
import { describe, expect, test } from "@jest/globals"
import { heldTransaction } from "../src/drivers/held-transaction.js"

function fakeCallbackClient(failBegin = false) {
  const log: string[] = []
  const transaction = async (callback: (tx: string) => Promise<void>): Promise<void> => {
    if (failBegin) throw new Error("BEGIN refused")
    log.push("BEGIN")
    try {
      await callback("tx")
    } catch (error) {
      log.push("ROLLBACK")
      throw error
    }
    log.push("COMMIT")
  }
  const open = () => heldTransaction<string>(transaction, (tx) => async (text) => (log.push(`${tx}: ${text}`), []))
  return { log, open }
}

describe("heldTransaction, on a fake callback client", () => {
  test("commit lets the callback resolve and waits for the client's COMMIT", async () => {
    const { log, open } = fakeCallbackClient()
    const connection = await open()
    await connection.run("SELECT 1", [])
    await connection.commit!()
    expect(log).toEqual(["BEGIN", "tx: SELECT 1", "COMMIT"])
    await connection.release()
    expect(log).toHaveLength(3)
  })

  test("a release before commit or rollback rolls the transaction back and rejects nothing", async () => {
    const { log, open } = fakeCallbackClient()
    const connection = await open()
    await connection.release()
    expect(log).toEqual(["BEGIN", "ROLLBACK"])
  })

  test("a client that fails before it began rejects the acquire with its error", async () => {
    const { open } = fakeCallbackClient(true)
    await expect(open()).rejects.toThrow("BEGIN refused")
  })
})
