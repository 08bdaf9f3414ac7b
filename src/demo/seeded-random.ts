/**
 * A small seeded PRNG for the demo generator: the same seed must give
 * byte-identical demo files on every run, so nothing here reads the clock or
 * Math.random().
 *
 * sfc32 (Chris Doty-Humphrey's Small Fast Counting generator) rather than
 * mulberry32: 128 bits of state, so the stream does not cycle within the
 * billions of draws a 1M-user demo makes, and it is as fast in V8 (32-bit
 * integer ops only). Streams are seeded through splitmix32 so that nearby
 * seeds (1, 2, 3, …) give unrelated streams.
 */

/** murmur3's 32-bit finaliser: a bijection on 32-bit integers, so distinct inputs give distinct outputs. */
export function mix32(value: number): number {
  let h = value | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** `value` as exactly 8 lower-case hex digits. */
export function hex8(value: number): string {
  return (value >>> 0).toString(16).padStart(8, '0');
}

/** A fixed table of items with weights, sampled in O(log n). */
export class WeightedTable<T> {
  private readonly cumulative: number[];
  private readonly total: number;

  constructor(
    readonly items: readonly T[],
    weights: readonly number[],
  ) {
    if (items.length === 0 || items.length !== weights.length) throw new RangeError('WeightedTable needs one weight per item');
    let sum = 0;
    this.cumulative = weights.map((w) => {
      if (!(w >= 0)) throw new RangeError('weights must be non-negative');
      return (sum += w);
    });
    if (sum <= 0) throw new RangeError('weights must not all be zero');
    this.total = sum;
  }

  /** The item whose cumulative weight interval holds `u` (a uniform draw in [0, 1)). */
  at(u: number): T {
    const target = u * this.total;
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cumulative[mid]! > target) hi = mid;
      else lo = mid + 1;
    }
    return this.items[lo]!;
  }
}

/** Build a WeightedTable from `[item, weight]` pairs. */
export function weighted<T>(pairs: readonly (readonly [T, number])[]): WeightedTable<T> {
  return new WeightedTable(
    pairs.map(([item]) => item),
    pairs.map(([, weight]) => weight),
  );
}

export class SeededRandom {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /**
   * A stream determined by `seed` and any further integers (e.g. a user index
   * and a stream number), so each user can get independent streams that do not
   * depend on how many draws earlier users made.
   */
  constructor(seed: number, ...salt: number[]) {
    // splitmix32 over the seed words gives the four state words.
    let state = mix32(seed ^ 0x9e3779b9);
    for (const s of salt) state = mix32(state ^ mix32(s + 0x7f4a7c15));
    const next = () => {
      state = (state + 0x9e3779b9) | 0;
      return mix32(state);
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next() | 1;
    for (let i = 0; i < 12; i++) this.uint32(); // warm-up, as sfc32 recommends
  }

  /** A uniform 32-bit unsigned integer. */
  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.uint32() / 4294967296;
  }

  /** Uniform in [min, max). */
  uniform(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  /** Uniform integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** A uniformly chosen element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty array');
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** An item of a weighted table. */
  weighted<T>(table: WeightedTable<T>): T {
    return table.at(this.next());
  }

  /** Standard normal scaled to mean and standard deviation (Box-Muller, one value per call for simplicity). */
  normal(mean = 0, sd = 1): number {
    const u = 1 - this.next(); // (0, 1]: log(0) is never taken
    const v = this.next();
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Log-normal with the given *mean* (not median) and log-scale sigma: a heavy right tail. */
  logNormal(mean: number, sigma: number): number {
    return mean * Math.exp(this.normal(-(sigma * sigma) / 2, sigma));
  }

  /** Exponential with the given mean. */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next());
  }

  /** Poisson count with mean lambda (Knuth below 30, rounded normal above: exactness matters little there). */
  poisson(lambda: number): number {
    if (lambda <= 0) return 0;
    if (lambda >= 30) return Math.max(0, Math.round(this.normal(lambda, Math.sqrt(lambda))));
    const limit = Math.exp(-lambda);
    let k = 0;
    let p = this.next();
    while (p > limit) {
      k++;
      p *= this.next();
    }
    return k;
  }

  /** Geometric count of failures before a success, with the given mean (≥ 0). */
  geometric(mean: number): number {
    if (mean <= 0) return 0;
    const p = 1 / (1 + mean);
    return Math.floor(Math.log(1 - this.next()) / Math.log(1 - p));
  }

  /** `digits` random lower-case hex digits (at most 8 per uint32 drawn). */
  hex(digits: number): string {
    let out = '';
    while (out.length < digits) out += hex8(this.uint32());
    return out.slice(0, digits);
  }
}
