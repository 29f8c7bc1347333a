// JSON transform: build `items` records, serialize, parse, group and sort them.
export const params = { items: { min: 1, max: 50_000, default: 2000 } };

const CATEGORIES = ["books", "games", "music", "tools", "toys", "food", "garden", "sports"];

/** Round-trip `items` records through JSON, then total them by category, largest first. */
export function json({ items }) {
  const records = Array.from({ length: items }, (_, i) => ({
    id: i,
    category: CATEGORIES[(i * 7) % CATEGORIES.length],
    price: ((i * 37) % 1000) / 10,
    tags: [`t${i % 5}`, `t${i % 11}`],
  }));
  const text = JSON.stringify(records);
  const parsed = JSON.parse(text);
  const totals = new Map();
  for (const record of parsed) totals.set(record.category, (totals.get(record.category) ?? 0) + record.price);
  const ranked = [...totals].sort((a, b) => b[1] - a[1]).map(([category, total]) => ({ category, total: Math.round(total * 10) / 10 }));
  return { bytes: text.length, top: ranked.slice(0, 3) };
}
