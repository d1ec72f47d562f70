import { describe, expect, it } from "@jest/globals"
describe("smoke", () => {
  it("loads @auth/core ESM", async () => {
    const core = await import("@auth/core")
    expect(typeof core.Auth).toBe("function")
  })
})
