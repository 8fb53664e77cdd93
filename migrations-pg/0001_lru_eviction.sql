-- Hand-written (drizzle-kit cannot express triggers), as migrations/0002_lru_eviction.sql on
-- SQLite: the cache's running size, kept exact by triggers so that every gateway reads the same
-- total with one primary-key lookup instead of summing the table (apps/edge/src/cache/eviction.ts).
-- The triggers run in the writing transaction and update one row, so concurrent writers serialise
-- on it and the total stays exact. One row, id 1.
CREATE TABLE "cache_stats" (
	"id" integer PRIMARY KEY NOT NULL CHECK ("id" = 1),
	"bytes" bigint NOT NULL,
	"entries" bigint NOT NULL
);
--> statement-breakpoint
INSERT INTO "cache_stats" ("id", "bytes", "entries") SELECT 1, coalesce(sum("bytes"), 0), count(*) FROM "images";
--> statement-breakpoint
CREATE FUNCTION "images_stats"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		UPDATE "cache_stats" SET "bytes" = "bytes" + NEW."bytes", "entries" = "entries" + 1 WHERE "id" = 1;
	ELSIF TG_OP = 'UPDATE' THEN
		UPDATE "cache_stats" SET "bytes" = "bytes" - OLD."bytes" + NEW."bytes" WHERE "id" = 1;
	ELSE
		UPDATE "cache_stats" SET "bytes" = "bytes" - OLD."bytes", "entries" = "entries" - 1 WHERE "id" = 1;
	END IF;
	RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "images_stats_insert" AFTER INSERT ON "images" FOR EACH ROW EXECUTE FUNCTION "images_stats"();
--> statement-breakpoint
CREATE TRIGGER "images_stats_update" AFTER UPDATE OF "bytes" ON "images" FOR EACH ROW EXECUTE FUNCTION "images_stats"();
--> statement-breakpoint
CREATE TRIGGER "images_stats_delete" AFTER DELETE ON "images" FOR EACH ROW EXECUTE FUNCTION "images_stats"();
