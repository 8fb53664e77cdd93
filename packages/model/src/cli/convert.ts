import { UsageError } from './errors.ts';

export async function convertCommand(_args: string[]): Promise<number> {
  throw new UsageError('convert is not implemented yet');
}
