/** The store suite on MariaDB: @auth/prisma-adapter's MySQL schema, Prisma 7 + @prisma/adapter-mariadb. */
import { detectionTests, otherDatabase } from "../../suites/prisma-other-databases.js"
import { describeStore } from "../../suites/store-suite.js"

describeStore({
  cell: "prisma",
  storeName: "prisma",
  expiresAtAs: "number",
  allowsDuplicates: false,
  database: otherDatabase("mysql"),
  extra(ctx) {
    detectionTests(ctx, "mysql")
  },
})
