-- The lease table (lease mode) beside the tables MikroORM's schema generator writes for @auth/mikro-orm-adapter's
-- entities (src/fixtures/mikroorm.ts): the same table as README "Lease mode: the migration".
CREATE TABLE authjs_refresh_lease (
  provider            TEXT NOT NULL,
  provider_account_id TEXT NOT NULL,
  fence               BIGINT NOT NULL,
  holder              TEXT NOT NULL,
  lease_until         TIMESTAMPTZ(3),
  PRIMARY KEY (provider, provider_account_id)
);
