-- The lease table (lease mode) beside the tables MikroORM's schema generator writes for @auth/mikro-orm-adapter's
-- entities (src/fixtures/mikroorm.ts): the same table as README "Lease mode: the migration".
CREATE TABLE authjs_refresh_lease (
  provider            VARCHAR(255) NOT NULL,
  provider_account_id VARCHAR(255) NOT NULL,
  fence               BIGINT NOT NULL,
  holder              VARCHAR(64) NOT NULL,
  lease_until         DATETIME(3) NULL,
  PRIMARY KEY (provider, provider_account_id)
);
