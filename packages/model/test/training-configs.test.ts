import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generatorPreset } from '../src/config/presets.ts';
import { parseBundleManifest } from '../src/bundle/manifest.ts';
import { REPO_ROOT } from './support/reference.ts';

const read = (file: string) => JSON.parse(fs.readFileSync(path.join(REPO_ROOT, file), 'utf8'));

/** The trainer reads JSON; the serving side reads the TS preset: they must never drift apart. */
describe('training configs', () => {
  it('training/configs/aurora-shapes.json is the aurora-shapes preset, every key', () => {
    expect(read('training/configs/aurora-shapes.json')).toEqual(JSON.parse(JSON.stringify(generatorPreset('aurora-shapes'))));
  });

  it('the text tower is as wide as the generator reads, and its vocab is the world vocab the bundle ships', () => {
    const tower = read('training/configs/text-tower.json');
    const tokens = read('training/data/world-tokens.json');
    expect(tower.width).toBe(generatorPreset('aurora-shapes').clip_out_dim);
    const manifest = parseBundleManifest(read('models/aurora-shapes/manifest.json'));
    expect(manifest.textEncoder.config.width).toBe(tower.width);
    expect(manifest.textEncoder.config.layers).toBe(tower.layers);
    expect(manifest.textEncoder.config.vocabSize).toBe(tokens.vocabSize);
    expect(manifest.tokenizer.mergeCount).toBe(tokens.mergeCount);
    const vocab = fs.readFileSync(path.join(REPO_ROOT, 'training/data/vocab.txt.gz'));
    expect(manifest.files['vocab.txt.gz'].sha256).toBe(createHash('sha256').update(vocab).digest('hex'));
  });
});
