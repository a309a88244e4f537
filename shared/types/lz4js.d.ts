// lz4js ships no type declarations; this is the part of its API we use.
declare module 'lz4js' {
  /** Decodes one raw LZ4 block src[sIndex, sIndex+sLength) into dst from dIndex; returns the end index in dst. */
  export function decompressBlock(src: Uint8Array, dst: Uint8Array, sIndex: number, sLength: number, dIndex: number): number;
  const lz4js: { decompressBlock: typeof decompressBlock };
  export default lz4js;
}
