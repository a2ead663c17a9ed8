/**
 * Range lists, the values of ranges resources (ports): flat, sorted and
 * coalesced `[begin0, end0, begin1, end1, ...]` with inclusive ends.
 */

/** Sorts and coalesces a flat list of (possibly overlapping) ranges. */
export function normalizeRanges(flat: number[]): number[] {
  const n = flat.length / 2;
  if (n <= 1) return flat;
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i]!, flat[i + 1]!]);
  pairs.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out: number[] = [pairs[0]![0], pairs[0]![1]];
  for (let i = 1; i < pairs.length; i++) {
    const [begin, end] = pairs[i]!;
    const last = out.length - 1;
    if (begin <= out[last]! + 1) {
      if (end > out[last]!) out[last] = end;
    } else {
      out.push(begin, end);
    }
  }
  return out;
}

/** Union of two normalized range lists. */
export function unionRanges(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let begin: number;
    let end: number;
    if (j >= b.length || (i < a.length && a[i]! <= b[j]!)) {
      begin = a[i]!;
      end = a[i + 1]!;
      i += 2;
    } else {
      begin = b[j]!;
      end = b[j + 1]!;
      j += 2;
    }
    const last = out.length - 1;
    if (last > 0 && begin <= out[last]! + 1) {
      if (end > out[last]!) out[last] = end;
    } else {
      out.push(begin, end);
    }
  }
  return out;
}

/** `a` minus `b`, both normalized; the result is normalized. */
export function subtractRanges(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let j = 0;
  for (let i = 0; i < a.length; i += 2) {
    let begin = a[i]!;
    const end = a[i + 1]!;
    while (j < b.length && b[j + 1]! < begin) j += 2;
    let k = j;
    while (begin <= end && k < b.length && b[k]! <= end) {
      const bBegin = b[k]!;
      const bEnd = b[k + 1]!;
      if (bBegin > begin) out.push(begin, bBegin - 1);
      begin = bEnd + 1;
      k += 2;
    }
    if (begin <= end) out.push(begin, end);
  }
  return out;
}

/** Whether every range of `b` lies inside `a`; both normalized. Does not allocate. */
export function containsRanges(a: readonly number[], b: readonly number[]): boolean {
  let i = 0;
  for (let j = 0; j < b.length; j += 2) {
    const begin = b[j]!;
    const end = b[j + 1]!;
    while (i < a.length && a[i + 1]! < begin) i += 2;
    if (i >= a.length || a[i]! > begin || a[i + 1]! < end) return false;
  }
  return true;
}

/** Whether two normalized range lists are the same. */
export function equalRanges(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
