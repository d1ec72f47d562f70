/**
 * @auth/typeorm-adapter with custom entities (other tables, snake_case key columns) on SQLite: the conformance
 * kit through typeormAccountStore(dataSource, { entities }), and what withTokenSync says without the option.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals"
import { TypeORMAdapter } from "@auth/typeorm-adapter"
import { InvalidOptionsError, withTokenSync } from "authjs-adapter-refresh"
import { DataSource } from "typeorm"
import { CUSTOM_ENTITIES } from "../../../src/fixtures/conformance-typeorm-custom.js"
import { testSqliteFile } from "../../../src/harness/sqlite.js"
import { runConformanceSuite } from "../../../src/index.js"

runConformanceSuite(
  {
    name: "@auth/typeorm-adapter with custom entities on SQLite",
    fixtureModule: new URL("../../../src/fixtures/conformance-typeorm-custom.ts", import.meta.url),
    database: () => testSqliteFile("kit_typeorm_custom"),
    expectedStoreName: "typeorm",
    expectsReauthListing: true,
    expectsLeases: true,
    expectsOneStatementSignIn: true,
  },
  { afterAll, beforeAll, describe, expect, it },
)

describe("withTokenSync(TypeORMAdapter(options, { entities }), dataSource) without the store's entities", () => {
  it("is refused at construction with InvalidOptionsError naming the entity and the option", async () => {
    const file = await testSqliteFile("typeorm_custom_refused")
    const dataSource = new DataSource({ type: "better-sqlite3", database: file.url.replace(/^file:/, "") })
    await dataSource.initialize()
    try {
      const adapter = TypeORMAdapter({ type: "better-sqlite3", database: ":memory:" }, { entities: CUSTOM_ENTITIES })
      const build = () => withTokenSync(adapter, dataSource)
      expect(build).toThrow(InvalidOptionsError)
      expect(build).toThrow(/no entity "AccountEntity".*entities: \{ AccountEntity \}/)
    } finally {
      await dataSource.destroy()
      await file.drop()
    }
  })
})
