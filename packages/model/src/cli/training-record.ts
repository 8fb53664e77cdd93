import * as fs from 'node:fs';
import type { BundleManifest } from '../bundle/manifest.ts';
import { UsageError } from './errors.ts';

type TrainingRecord = NonNullable<BundleManifest['training']>;

function readJson(file: string, flag: string): Record<string, unknown> {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new UsageError(`--${flag} ${file}: not a JSON file (${(error as Error).message})`);
  }
}

function field<T>(json: Record<string, unknown>, key: string, flag: string, check: (v: unknown) => v is T): T {
  const value = json[key];
  if (!check(value)) throw new UsageError(`--${flag}: "${key}" is missing or of the wrong type`);
  return value;
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * The manifest's `training` record from the trainer's run.json (training/train.py writes it) and,
 * optionally, an `aurora eval --json` report measured on the converted weights.
 */
export function trainingRecord(runFile: string, evalFile?: string): TrainingRecord {
  const run = readJson(runFile, 'training');
  const args = field(run, 'args', 'training', (v): v is Record<string, unknown> => typeof v === 'object' && v !== null);
  const record: TrainingRecord = {
    command: `python3 ${field(run, 'command', 'training', isString)}`,
    commit: field(run, 'commit', 'training', isString),
    seed: field(args, 'seed', 'training', isNumber),
    steps: field(run, 'steps', 'training', isNumber),
    images: field(run, 'images', 'training', isNumber),
    wallSeconds: field(run, 'wall_seconds', 'training', isNumber),
    machine: field(run, 'device', 'training', isString),
    framework: `torch ${field(run, 'torch', 'training', isString)}`,
  };
  if (!evalFile) return record;
  const report = readJson(evalFile, 'eval');
  const diversity = report.diversity;
  return {
    ...record,
    eval: {
      colour_acc: field(report, 'colour_acc', 'eval', isNumber),
      shape_acc: field(report, 'shape_acc', 'eval', isNumber),
      heldout_acc: field(report, 'heldout_acc', 'eval', isNumber),
      diversity: isNumber(diversity) ? diversity : null,
      seeds: `${field(report, 'seeds', 'eval', isNumber)} seeds from ${field(report, 'seed_start', 'eval', isNumber)}, psi ${field(report, 'psi', 'eval', isNumber)}`,
    },
  };
}
