// Reads the held-out data the demo ships (generated/<name>.dataset.json: a serialized Rust
// `Dataset`) for the simulated shopper. Only this file knows the JSON layout:
//
//   { name, items: { ids: ["", "1", "2", …] }, users: ["196", …],
//     seqs: [{ items: [dense indices, 1-based into items.ids], kinds: ["rate", …], ts: [ms, …] }],
//     meta: { titles: [null, "Toy Story (1995)", …], categories: [[], [3, 4], …], category_names: […] },
//     has_timestamps }
//
// The evaluation itself (rec.evaluate) gets the raw bytes and does the split in Rust.

/** The vocabulary (external item id by dense index, index 0 = padding) of a dataset JSON. */
function vocabOf(json) {
  const v = json.items;
  if (Array.isArray(v)) return v;
  if (Array.isArray(v?.ids)) return v.ids;
  throw new Error('the dataset JSON has no item vocabulary (expected "items": { "ids": [...] })');
}

/**
 * @returns {{ name: string, users: string[], itemIds: string[], titles: (string|null)[],
 *   sequence(u: number): { items: string[], ts: number[] }, length(u: number): number }}
 */
export function parseDataset(json) {
  const ids = vocabOf(json);
  if (!Array.isArray(json.users) || !Array.isArray(json.seqs) || json.users.length !== json.seqs.length) {
    throw new Error('the dataset JSON has no users/seqs lists of the same length');
  }
  const titles = json.meta?.titles ?? [];
  return {
    name: json.name ?? 'dataset',
    users: json.users,
    itemIds: ids,
    titles,
    /** User `u`'s events, oldest first, as external item ids. */
    sequence(u) {
      const s = json.seqs[u];
      return { items: s.items.map((i) => ids[i]), ts: s.ts ?? s.items.map((_, j) => j) };
    },
    length: (u) => json.seqs[u].items.length,
  };
}
