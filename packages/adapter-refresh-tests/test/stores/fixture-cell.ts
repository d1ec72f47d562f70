/**
 * One conformance fixture module (src/fixtures/conformance-*.ts) on a fresh database for a describe block:
 * prepared before its tests, closed and dropped after them. For the tests of a store that the kit cannot
 * hold from outside it, run on several cells with describe.each.
 */
import { afterAll, beforeAll } from "@jest/globals"
import { withTokenSync, type AccountStore } from "authjs-adapter-refresh"
import type { ConformanceFixture, ConformanceFixtureModule, IsolatedDatabase } from "../../src/kit/fixture.js"

export interface FixtureCell {
  /** The fixture module's file name in src/fixtures, without ".ts". */
  module: string
  database: (prefix: string) => Promise<IsolatedDatabase>
}

/** Getters, valid inside the tests of the describe block. */
export interface CellFixture {
  readonly database: IsolatedDatabase
  readonly fixture: ConformanceFixture
  /** The fixture's adapter wrapped with its db. */
  readonly wrapped: ReturnType<typeof withTokenSync>
  /** The store under test: the wrapped adapter's accountStore. */
  readonly store: AccountStore
}

/** Registers the cell's beforeAll / afterAll in the current describe block. */
export function useFixtureCell(cell: FixtureCell, prefix: string): CellFixture {
  let database: IsolatedDatabase | undefined
  let fixture: ConformanceFixture | undefined
  let wrapped: ReturnType<typeof withTokenSync> | undefined
  beforeAll(async () => {
    const module = (await import(
      new URL(`../../src/fixtures/${cell.module}.ts`, import.meta.url).href
    )) as ConformanceFixtureModule
    database = await cell.database(`${prefix}_${cell.module.replace(/-/g, "_")}`)
    await module.prepareDatabase(database.url)
    fixture = await module.createFixture(database.url)
    wrapped = withTokenSync(fixture.adapter, fixture.db)
  })
  afterAll(async () => {
    await fixture?.close()
    await database?.drop()
  })
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined)
      throw new Error(`useFixtureCell(${cell.module}): used outside the tests of its describe block`)
    return value
  }
  return {
    get database() {
      return ready(database)
    },
    get fixture() {
      return ready(fixture)
    },
    get wrapped() {
      return ready(wrapped)
    },
    get store() {
      return ready(wrapped).accountStore
    },
  }
}
