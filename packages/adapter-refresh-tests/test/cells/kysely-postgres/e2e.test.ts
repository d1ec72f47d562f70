/** End to end, Kysely cell: `withTokenSync(KyselyAdapter(db), db)` through the real Auth.js handler. */
import { KyselyAdapter } from "@auth/kysely-adapter"
import { createKyselyFixture } from "../../../src/fixtures/databases.js"
import { defineE2eSuite } from "../../suites/e2e-suite.js"

defineE2eSuite({
  cell: "kysely",
  createFixture: (url) => createKyselyFixture(url),
  officialAdapter: (db) => KyselyAdapter(db),
})
