/**
 * Types for `cluster-key-slot` (ships none): ioredis' own CRC16, so the slot Tether computes for a
 * key is the one its Cluster client routes the key by.
 */
declare module "cluster-key-slot" {
  /** The Redis Cluster slot (0..16383) of a key: CRC16/XMODEM of its hash tag if it has one, else of the whole key. */
  function calculateSlot(key: string | Buffer): number;
  export = calculateSlot;
}
