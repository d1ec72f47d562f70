/**
 * The test functions the kit registers its checks with. Jest's and Vitest's own functions fit as they are:
 *
 *   import { afterAll, beforeAll, describe, expect, it } from "vitest"   // or from "@jest/globals"
 *   runConformanceSuite(target, { afterAll, beforeAll, describe, expect, it })
 *
 * Typed loosely on purpose, so that any runner with the Jest-style API (`it.each`, the `expect` matchers
 * `toBe`, `toEqual`, `toMatchObject`, `rejects`...) is accepted without the kit depending on its types.
 */
export interface TestRunner {
  describe(name: string, body: () => void): void
  it: TestFunction
  beforeAll(body: () => Promise<void>, timeoutMs?: number): void
  afterAll(body: () => Promise<void>, timeoutMs?: number): void
  expect(actual: unknown): unknown
}

/** A runner's `it` (or `test`): callable, with `it.each` for table-driven checks. */
export interface TestFunction {
  (name: string, body: () => Promise<void> | void, timeoutMs?: number): void
  each(table: readonly (readonly unknown[])[]): unknown
}
