// Looking for secrets where they could have landed: the files of a data directory (its database
// pages included), API answers, notifications, process output.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';

/** A place a secret could land in, with what it holds; `what` names it in a failure. */
export interface Place {
  what: string;
  text: string;
}

/** Every file under `dir`, read as latin1 (every byte one character, so a secret in any database page is found). */
export function filesUnder(dir: string): Place[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) return filesUnder(file);
    return [{ what: file, text: readFileSync(file).toString('latin1') }];
  });
}

/** Fails naming the secret and the place when any of `secrets` (name -> value) is in any place. */
export function expectNoSecret(places: Place[], secrets: Record<string, string>): void {
  for (const { what, text } of places) {
    for (const [kind, secret] of Object.entries(secrets)) expect(text.includes(secret), `the ${kind} secret in ${what}`).toBe(false);
  }
}
