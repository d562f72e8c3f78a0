import { FineprintError } from '../errors.js';

/** Page cursors are opaque to clients: base64url of the last row's sort key. */
export function encodeCursor(lastSeen: number, id: string): string {
  return Buffer.from(JSON.stringify([lastSeen, id])).toString('base64url');
}

export function decodeCursor(cursor: string): [number, string] {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'number' && typeof value[1] === 'string') {
      return [value[0], value[1]];
    }
  } catch {
    // reported below
  }
  throw new FineprintError('FP_BAD_REQUEST', 'cursor: not a cursor returned by this API (use nextCursor as is)');
}
