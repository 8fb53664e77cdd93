/** One line of a conformance report. */
export interface CheckResult {
  readonly name: string;
  readonly ok: boolean;
  /** Max abs error for tensors; mismatch count for discrete checks. */
  readonly error: number;
  readonly tolerance: number;
  readonly detail?: string;
}

export function maxAbsDiff(expected: ArrayLike<number>, actual: ArrayLike<number>): number {
  if (expected.length !== actual.length) return Number.POSITIVE_INFINITY;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(expected[i] - actual[i]);
    if (!(d <= worst)) worst = d; // NaN propagates as a failure
  }
  return worst;
}

export function compareTensor(name: string, expected: ArrayLike<number>, actual: ArrayLike<number>, tolerance: number): CheckResult {
  const error = maxAbsDiff(expected, actual);
  const detail = expected.length !== actual.length ? `size ${actual.length}, expected ${expected.length}` : undefined;
  return { name, ok: error <= tolerance, error, tolerance, detail };
}

function maxAbs(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]));
  return m;
}

/**
 * Like compareTensor with `tolerance` scaled by the reference's magnitude, max(1, max|expected|):
 * float32 rounding noise is relative, so a tensor reaching 90 (undemodulated convs, deep
 * intermediates) carries ~90x the noise of an O(1) image. O(1) tensors keep the plain bound.
 */
export function compareTensorScaled(name: string, expected: ArrayLike<number>, actual: ArrayLike<number>, tolerance: number): CheckResult {
  return compareTensor(name, expected, actual, tolerance * Math.max(1, maxAbs(expected)));
}

/**
 * Router choices must agree token for token, except near-ties: where the reference's top-2
 * router logits are closer than `tieGap`, fp32 rounding may legitimately pick either expert.
 */
export function compareRouterChoices(
  name: string,
  expected: ArrayLike<number>,
  actual: ArrayLike<number>,
  referenceLogits: ArrayLike<number>,
  numExperts: number,
  tieGap: number,
): CheckResult {
  let mismatches = 0;
  let nearTies = 0;
  for (let t = 0; t < expected.length; t++) {
    if (Number(expected[t]) === Number(actual[t])) continue;
    let best = Number.NEGATIVE_INFINITY;
    let second = Number.NEGATIVE_INFINITY;
    for (let e = 0; e < numExperts; e++) {
      const v = referenceLogits[t * numExperts + e];
      if (v > best) [best, second] = [v, best];
      else if (v > second) second = v;
    }
    if (best - second < tieGap) nearTies++;
    else mismatches++;
  }
  const detail = `${expected.length} tokens${nearTies ? `, ${nearTies} near-tie flips accepted` : ''}`;
  return { name, ok: mismatches === 0 && expected.length === actual.length, error: mismatches, tolerance: 0, detail };
}

/**
 * uint8 images may differ by one step only where the float value sits within `tolerance`
 * (in image units) of a rounding boundary.
 */
export function compareUint8Image(name: string, expected: ArrayLike<number>, actual: ArrayLike<number>, referenceFloat: ArrayLike<number>, tolerance: number): CheckResult {
  let bad = 0;
  let boundary = 0;
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(expected[i] - actual[i]);
    if (diff === 0) continue;
    const scaled = ((referenceFloat[i] + 1) / 2) * 255 + 0.5;
    const nearBoundary = Math.abs(scaled - Math.round(scaled)) <= (tolerance * 255) / 2;
    if (diff === 1 && nearBoundary) boundary++;
    else bad++;
  }
  return { name, ok: bad === 0 && expected.length === actual.length, error: bad, tolerance: 0, detail: `${boundary} rounding-boundary samples off by 1` };
}

export function formatResult(r: CheckResult): string {
  const status = r.ok ? 'ok  ' : 'FAIL';
  const value = Number.isInteger(r.error) && r.tolerance === 0 ? `${r.error} mismatches` : `max abs err ${r.error.toExponential(2)} (tol ${r.tolerance.toExponential(1)})`;
  return `${status} ${r.name.padEnd(58)} ${value}${r.detail ? `  [${r.detail}]` : ''}`;
}
