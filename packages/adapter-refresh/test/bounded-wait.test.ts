/** The bound on the wait for a pooled connection, BEGIN and the lock (bounded-wait.ts): pure, no server. */
import { describe, expect, test } from "@jest/globals"
import { AbandonedWait, boundedStart } from "../src/bounded-wait.js"

describe("coordination primitives", () => {
  test("boundedStart: a start that comes too late is refused (AbandonedWait), the caller already has its typed error", async () => {
    let lateError: unknown
    const started = Date.now()
    await expect(
      boundedStart(
        30,
        () => new Error("timed out"),
        async (begin) => {
          await new Promise((resolve) => setTimeout(resolve, 80))
          try {
            begin()
          } catch (error) {
            lateError = error
            throw error
          }
          return "ran"
        },
      ),
    ).rejects.toThrow("timed out")
    expect(Date.now() - started).toBeLessThan(75)
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(lateError).toBeInstanceOf(AbandonedWait)
    await expect(
      boundedStart(
        50,
        () => new Error("timed out"),
        async (begin) => (begin(), "ran"),
      ),
    ).resolves.toBe("ran")
  })
})
