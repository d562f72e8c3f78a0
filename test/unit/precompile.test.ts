// precompile() makes zod generate every object parser of a schema up front, so that the first record
// or request parses without generating code on the event loop.
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CollectorRecord } from '../../shared/event.js';
import { precompile } from '../../shared/precompile.js';

const realFunction = globalThis.Function;
afterEach(() => {
  globalThis.Function = realFunction;
});

/** Counts the functions generated from source (zod compiles its object parsers with `new Function`). */
function countGenerated(run: () => void): number {
  let generated = 0;
  globalThis.Function = new Proxy(realFunction, {
    construct(target, args: string[]) {
      generated += 1;
      return Reflect.construct(target, args);
    },
  });
  try {
    run();
  } finally {
    globalThis.Function = realFunction;
  }
  return generated;
}

const EVENT = {
  type: 'event',
  event: { v: 1, id: 'docker:1:oom', host: 'node-1', kind: 'docker', source: 'docker-events', ts: 1, message: 'container oom', container: { id: 'c'.repeat(64), name: 'web', image: 'nginx' }, docker: { type: 'container', action: 'oom', attributes: {} } },
};

describe('precompile', () => {
  it('generates the parsers of nested, optional and union members, so that the first parse generates none', () => {
    const schema = z.discriminatedUnion('type', [
      z.object({ type: z.literal('a'), inner: z.object({ deep: z.array(z.object({ x: z.number() })).optional() }) }),
      z.object({ type: z.literal('b'), other: z.record(z.string(), z.object({ y: z.string() })).nullable() }),
    ]);
    expect(countGenerated(() => precompile(schema))).toBeGreaterThanOrEqual(5);
    expect(countGenerated(() => schema.parse({ type: 'a', inner: { deep: [{ x: 1 }] } }))).toBe(0);
    expect(countGenerated(() => schema.parse({ type: 'b', other: { k: { y: 'v' } } }))).toBe(0);
  });

  it('leaves nothing to generate at the first record of the queue', () => {
    precompile(CollectorRecord);
    expect(countGenerated(() => CollectorRecord.parse(EVENT))).toBe(0);
  });

  it('ends on a schema that contains itself', () => {
    interface Node {
      children: Node[];
    }
    const Tree: z.ZodType<Node> = z.object({ children: z.array(z.lazy(() => Tree)) });
    precompile(Tree);
    expect(Tree.parse({ children: [{ children: [] }] })).toEqual({ children: [{ children: [] }] });
  });
});
