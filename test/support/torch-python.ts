import { spawnSync } from 'node:child_process';
import path from 'node:path';

/** The repository's `training/` folder, where the PyTorch trainer lives. */
export const TRAINING_DIR = path.resolve(import.meta.dirname, '../../training');

/**
 * A Python interpreter that can `import torch`, or null. TORCH_PYTHON wins; Debian's python3-torch
 * installs for /usr/bin/python3, which a pyenv shim earlier on PATH may hide, so both are tried.
 */
export function findTorchPython(): string | null {
  const candidates = [process.env.TORCH_PYTHON, '/usr/bin/python3', 'python3'].filter((c): c is string => Boolean(c));
  for (const python of candidates) {
    if (spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) return python;
  }
  return null;
}

/** Runs a Python script with the trainer package importable; throws with its stderr on failure. */
export function runTrainingPython(python: string, args: readonly string[], timeoutMs = 300_000): string {
  const result = spawnSync(python, [...args], {
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { ...process.env, PYTHONPATH: TRAINING_DIR, OMP_NUM_THREADS: '2', OPENBLAS_NUM_THREADS: '1', PYTHONUNBUFFERED: '1' },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) throw new Error(`python ${args.join(' ')} exited ${result.status}:\n${result.stderr}${result.stdout}`);
  return result.stdout;
}
