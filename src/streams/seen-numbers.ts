/**
 * The set of response Numbers a run has processed for one survey, so that a retried download skips
 * what was already emitted. Numbers are small dense integers, so a bitset holds a million of them in
 * 125 KB; anything beyond BITSET_LIMIT falls back to a Set.
 */
const BITSET_LIMIT = 64 * 1024 * 1024;

export class SeenNumbers {
  private bits = new Uint8Array(1024);
  private large: Set<number> | undefined;

  /** Forget everything (the rows seen so far came from a damaged download). */
  clear(): void {
    this.bits = new Uint8Array(1024);
    this.large = undefined;
  }

  has(n: number): boolean {
    if (n >= BITSET_LIMIT) return this.large?.has(n) ?? false;
    const byte = n >>> 3;
    return byte < this.bits.length && (this.bits[byte]! & (1 << (n & 7))) !== 0;
  }

  add(n: number): void {
    if (n >= BITSET_LIMIT) {
      (this.large ??= new Set()).add(n);
      return;
    }
    const byte = n >>> 3;
    if (byte >= this.bits.length) {
      let size = this.bits.length;
      while (size <= byte) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.bits);
      this.bits = grown;
    }
    this.bits[byte]! |= 1 << (n & 7);
  }
}
