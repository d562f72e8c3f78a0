import { mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** How docs/kb differs from what `kb/` renders to. */
export interface DocsDrift {
  /** Pages the KB renders that the directory lacks. */
  missing: string[];
  /** Pages whose content differs from the rendering. */
  changed: string[];
  /** Markdown files in the directory that no entry renders (a removed or renamed entry). */
  extra: string[];
}

const markdownIn = (dir: string): string[] => {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.md'));
  } catch {
    return [];
  }
};

/** Compares rendered pages with the files of a directory. */
export function checkKbDocs(dir: string, pages: ReadonlyMap<string, string>): DocsDrift {
  const present = new Set(markdownIn(dir));
  const drift: DocsDrift = { missing: [], changed: [], extra: [] };
  for (const [name, text] of pages) {
    if (!present.has(name)) drift.missing.push(name);
    else if (readFileSync(join(dir, name), 'utf8') !== text) drift.changed.push(name);
  }
  for (const name of present) if (!pages.has(name)) drift.extra.push(name);
  for (const list of Object.values(drift)) list.sort();
  return drift;
}

/** Writes the pages, removes stale markdown files, and returns what it changed. */
export function writeKbDocs(dir: string, pages: ReadonlyMap<string, string>): DocsDrift {
  const drift = checkKbDocs(dir, pages);
  mkdirSync(dir, { recursive: true });
  for (const name of [...drift.missing, ...drift.changed]) writeFileSync(join(dir, name), pages.get(name) as string);
  for (const name of drift.extra) unlinkSync(join(dir, name));
  return drift;
}

export const driftCount = (drift: DocsDrift): number => drift.missing.length + drift.changed.length + drift.extra.length;
