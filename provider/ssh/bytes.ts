// TypeScript 5.9's generic Uint8Array and @types/node 20.9's Buffer disagree (Buffer's slice().buffer may be a
// SharedArrayBuffer), so Buffer arrays are not accepted where Uint8Array[] is asked for. One cast, here.
export function concatBytes(parts: readonly Buffer[]): Buffer {
  return Buffer.concat(parts as unknown as readonly Uint8Array[]);
}

export function asBytes(b: Buffer): Uint8Array {
  return b as unknown as Uint8Array;
}
