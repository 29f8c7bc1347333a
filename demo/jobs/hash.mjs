// Hashing: a SHA-256 chain over `kib` KiB of data, `rounds` times.
import { createHash } from "node:crypto";

/** Bounds of the parameters, checked by the API before a job is queued. */
export const params = { kib: { min: 1, max: 1024, default: 64 }, rounds: { min: 1, max: 200, default: 20 } };

/** Hash `kib` KiB of deterministic data `rounds` times, each round over the previous digest and the data. */
export function hash({ kib, rounds }) {
  const data = Buffer.alloc(kib * 1024);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31 + 7) & 0xff;
  let digest = Buffer.alloc(32);
  for (let round = 0; round < rounds; round++) digest = createHash("sha256").update(digest).update(data).digest();
  return { digest: digest.toString("hex"), bytesHashed: (data.length + 32) * rounds };
}
