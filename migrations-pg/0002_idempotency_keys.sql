CREATE TABLE "idempotency_keys" (
	"scope" text NOT NULL,
	"key" text NOT NULL,
	"body_sha256" text NOT NULL,
	"state" text NOT NULL,
	"status" integer,
	"body" "bytea",
	"content_type" text,
	"created_at" bigint NOT NULL,
	CONSTRAINT "idempotency_keys_scope_key_pk" PRIMARY KEY("scope","key")
);
