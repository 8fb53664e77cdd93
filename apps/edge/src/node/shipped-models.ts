import * as fs from 'node:fs';
import * as path from 'node:path';
import { type BundleSource, verifyBundle } from '@aurora-edge/model';
import { readBundleDir } from '@aurora-edge/model/node';

/** A trained bundle committed to the repository, checked and ready to serve. */
export interface ShippedModel {
  readonly dir: string;
  readonly source: BundleSource;
}

/**
 * The trained bundles committed under `models/` (today aurora-shapes), which `npm start` serves
 * after the default aurora-tiny when EDGE_BUNDLES is not set, so a newcomer sees them without
 * configuring anything. In folder-name order, so the list is the same on every start.
 *
 * Only `trained: true` bundles are picked up (an untrained one there would be a mistake, not a
 * preview). One that cannot be served (unreadable, damaged file, an id already taken) is left out
 * with a log line instead of stopping the gateway: nobody asked for it by name, and the default
 * model must still start. Every file is checked against its sha256 before it is listed, as for
 * bundles named in EDGE_BUNDLES.
 */
export async function shippedModels(root: string, taken: ReadonlySet<string>, log: (line: string) => void): Promise<ShippedModel[]> {
  let names: string[];
  try {
    names = fs
      .readdirSync(root, { withFileTypes: true })
      .filter((e) => e.isDirectory() && fs.existsSync(path.join(root, e.name, 'manifest.json')))
      .map((e) => e.name)
      .sort();
  } catch {
    return []; // no models/ folder: only the default
  }
  const checked = await Promise.all(
    names.map(async (name): Promise<ShippedModel | null> => {
      const dir = path.join(root, name);
      try {
        const source = readBundleDir(dir);
        if (!source.manifest.trained) return null;
        await verifyBundle(source);
        return { dir, source };
      } catch (error) {
        log(`aurora-edge: not serving ${dir}: ${(error as Error).message}`);
        return null;
      }
    }),
  );
  const ids = new Set(taken);
  const served: ShippedModel[] = [];
  for (const model of checked) {
    if (!model) continue;
    const { id } = model.source.manifest;
    if (ids.has(id)) {
      log(`aurora-edge: not serving ${model.dir}: another bundle already has the id "${id}"`);
      continue;
    }
    ids.add(id);
    served.push(model);
  }
  return served;
}
