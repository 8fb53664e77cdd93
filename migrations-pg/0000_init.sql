CREATE TABLE "api_keys" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"key_hash" text NOT NULL,
	"origins" text NOT NULL,
	"rpm" integer NOT NULL,
	"created_at" bigint NOT NULL,
	"revoked_at" bigint,
	CONSTRAINT "api_keys_key_hash_unique" UNIQUE("key_hash")
);
--> statement-breakpoint
CREATE TABLE "generation_claims" (
	"key" text PRIMARY KEY NOT NULL,
	"owner" text NOT NULL,
	"expires_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "images" (
	"key" text PRIMARY KEY NOT NULL,
	"model" text NOT NULL,
	"content_hash" text NOT NULL,
	"prompt" text NOT NULL,
	"seed" bigint NOT NULL,
	"psi" double precision NOT NULL,
	"size" text NOT NULL,
	"png" "bytea",
	"blob_key" text,
	"bytes" bigint NOT NULL,
	"etag" text NOT NULL,
	"route" text NOT NULL,
	"generate_ms" double precision NOT NULL,
	"run_ms" double precision,
	"created_at" bigint NOT NULL,
	"hit_count" integer DEFAULT 0 NOT NULL,
	"last_hit_at" bigint
);
--> statement-breakpoint
CREATE TABLE "rate_limits" (
	"bucket" text PRIMARY KEY NOT NULL,
	"tokens" double precision NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE INDEX "api_keys_name" ON "api_keys" USING btree ("name");--> statement-breakpoint
CREATE INDEX "images_created_at" ON "images" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "images_lru" ON "images" USING btree (coalesce("last_hit_at", "created_at"));