-- Digests of the addresses of suspended accounts that deleted themselves: such an
-- address cannot sign up again (the suspension would otherwise end with a new account).

CREATE TABLE barred_addresses (
    digest    TEXT PRIMARY KEY,
    barred_at BIGINT NOT NULL
);
