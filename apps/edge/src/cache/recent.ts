import { desc } from 'drizzle-orm';
import type { CacheDb } from './db.ts';
import { type Dialect, sqliteDialect } from './dialect.ts';

export interface RecentImage {
  readonly key: string;
  readonly model: string;
  readonly prompt: string;
  readonly seed: number;
  readonly psi: number;
  readonly size: string;
  readonly route: string;
  readonly createdAt: number;
  /** sha256 hex of the stored bytes: the version its URL names. */
  readonly etag: string;
}

/** The newest cache entries (GET /v1/gallery): metadata only, through the created_at index. */
export class RecentImages {
  constructor(
    private readonly db: CacheDb,
    private readonly dialect: Dialect = sqliteDialect,
  ) {}

  async list(limit: number): Promise<RecentImage[]> {
    const { images } = this.dialect.tables;
    return this.db
      .select({
        key: images.key,
        model: images.model,
        prompt: images.prompt,
        seed: images.seed,
        psi: images.psi,
        size: images.size,
        route: images.route,
        createdAt: images.createdAt,
        etag: images.etag,
      })
      .from(images)
      .orderBy(desc(images.createdAt), desc(images.key))
      .limit(limit);
  }
}
