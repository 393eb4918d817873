// The search page's pagefind module (search.html points PagefindUI's bundlePath here, and PagefindUI imports
// `${bundlePath}pagefind.js`): pagefind's own, plus the small index `make serve` writes of the pages changed
// since the full index was made (pagefind/delta/, lib/blog/search.py). Results from the full index for those
// pages, and for pages deleted since, are dropped; a changed page ranks where its old copy did.
import * as pf from "../../pagefind/pagefind.js";
export { init, preload, destroy, createInstance } from "../../pagefind/pagefind.js";

const DELTA = new URL("../../pagefind/delta/", import.meta.url).pathname;
let uiOptions = {};
let delta = { count: 0, hide: [], twins: {} }; // twins: a delta page's id -> its old copy's id in the full index
let merged = null;

const ready = () => (merged ??= (async () => {
  try {
    const response = await fetch(`${DELTA}delta.json`, { cache: "no-store" });
    if (response.ok) delta = { ...delta, ...(await response.json()) };
  } catch { /* no delta: the full index alone */ }
  try {
    // A merged index gets only the options passed here: PagefindUI gives excerptLength to the full index alone.
    if (delta.count > 0) await pf.mergeIndex(DELTA, { excerptLength: uiOptions.excerptLength });
  } catch {
    delta = { count: 0, hide: [], twins: {} }; // a delta being replaced as it loads: the full index alone
  }
})());

const current = (response) => {
  if (!response?.results) return response;
  const score = new Map(response.results.map((r) => [r.id, r.score]));
  const top = Math.max(0, ...score.values());
  for (const r of response.results) {
    if (!(r.id in delta.twins)) continue;
    // pagefind scores a one-page index on its own scale: the new copy takes its old copy's score, or tops the list.
    const twin = delta.twins[r.id];
    r.score = score.has(twin) ? score.get(twin) : top + r.score;
  }
  const seen = new Set(delta.hide); // an unchanged page has the same id in both indexes: it is kept once
  response.results = response.results
    .filter((r) => !seen.has(r.id) && seen.add(r.id))
    .sort((a, b) => b.score - a.score);
  return response;
};

export async function options(o) { uiOptions = { ...uiOptions, ...o }; return pf.options(o); }
export async function mergeIndex(path, o) { await ready(); return pf.mergeIndex(path, o); }
export async function filters() { await ready(); return pf.filters(); }
export async function search(term, o) { await ready(); return current(await pf.search(term, o)); }
export async function debouncedSearch(term, o, ms) { await ready(); return current(await pf.debouncedSearch(term, o, ms)); }
