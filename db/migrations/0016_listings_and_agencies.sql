-- Up Migration
-- Listings (a creator's page on the marketplace, optionally on a custom domain), the one-time
-- cross-domain hand-off tokens spent at signup, and agency sub-accounts (a tenant whose parent is
-- the agency).

CREATE TABLE listings (
  id uuid PRIMARY KEY,
  creator_id uuid NOT NULL REFERENCES users (id),
  title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
  -- A host name, lower case, no port; one listing per domain.
  custom_domain text UNIQUE CHECK (custom_domain = lower(custom_domain)),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX listings_creator_idx ON listings (creator_id);

-- A hand-off token is signed, not stored, when issued; it is recorded here when a signup spends it,
-- so a second use finds it and is refused.
CREATE TABLE handoff_exchanges (
  token_id uuid PRIMARY KEY,
  domain text NOT NULL,
  ref text NOT NULL,
  listing_id text,
  expires_at timestamptz NOT NULL,
  exchanged_at timestamptz NOT NULL DEFAULT now()
);

-- A sub-account is a tenant whose parent is the agency; one level only (checked by the writer).
ALTER TABLE tenants ADD COLUMN parent_tenant_id uuid REFERENCES tenants (id) CHECK (parent_tenant_id <> id);
CREATE INDEX tenants_parent_idx ON tenants (parent_tenant_id, created_at, id) WHERE parent_tenant_id IS NOT NULL;
