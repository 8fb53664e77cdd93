/** `npm run build -w @aurora-edge/embed [outDir]`: builds the embed script and prints its files. */
import { buildEmbed } from './build.ts';

const result = await buildEmbed(process.argv[2] ?? 'dist');
for (const f of result.files) console.log(`${f.name.padEnd(32)} ${String(f.bytes).padStart(9)} B  ${String(f.gzipBytes).padStart(8)} B gzip`);
