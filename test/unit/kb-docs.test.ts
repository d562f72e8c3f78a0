// docs/kb is generated from kb/*.yaml (`npm run docs:kb`); this fails when the pages drift from the KB,
// and checks that the renderers show what a reader needs.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkKbDocs, driftCount, writeKbDocs } from '../../services/cli/kb-docs.js';
import { describeDetector, renderEntryMarkdown, renderEntryText, renderIndexMarkdown, renderKbDocs } from '../../services/cli/kb-render.js';
import { loadKnowledgeBase } from '../../shared/kb/load.js';
import { PACKAGE_ROOT } from '../../shared/paths.js';
import { TALK_POINTS } from '../../shared/kb/talk.js';

const kb = loadKnowledgeBase();
const pages = renderKbDocs(kb);

describe('docs/kb is generated from kb/ and does not drift', () => {
  it('every page of docs/kb equals its rendering (run `npm run docs:kb` after editing kb/)', () => {
    const drift = checkKbDocs(join(PACKAGE_ROOT, 'docs', 'kb'), pages);
    expect(drift, 'docs/kb drifted from kb/: run `npm run build && npm run docs:kb`').toEqual({ missing: [], changed: [], extra: [] });
  });

  it('has one page per entry plus the index', () => {
    expect([...pages.keys()].sort()).toEqual(['README.md', ...kb.entries.map((e) => `${e.id}.md`)].sort());
  });
});

describe('the reference pages', () => {
  it('an entry page has why, fix, today, signals, the real lines and references', () => {
    const page = renderEntryMarkdown(kb.byId.get('oom-kill')!, kb);
    for (const heading of ['## Why', '## Fix', '## Today', '### Changed since the talk (2016)', '## What `fineprint audit` checks', '## Signals that detect it', '### Lines that file this entry', '### Benign look-alikes that must not file it', '## References']) {
      expect(page).toContain(heading);
    }
    expect(page).toContain('Memory cgroup out of memory: Kill process 14760 (mem-hogger)');
    expect(page).toContain('detection **both**');
  });

  it('an audit entry page says what the audit checks and has no signals section', () => {
    const page = renderEntryMarkdown(kb.byId.get('userns-remap')!, kb);
    expect(page).toContain('## What `fineprint audit` checks');
    expect(page).not.toContain('## Signals that detect it');
    expect(page).toContain('detection **audit**');
  });

  it('the index maps every point of the talk to its entries and says how each is served', () => {
    const index = renderIndexMarkdown(kb);
    for (const point of TALK_POINTS) expect(index).toContain(point.point.replace(/\|/g, '\\|'));
    expect(index).not.toContain('**not covered**');
    expect(index).toMatch(/\| \[hostname-dependent-state\]\(hostname-dependent-state\.md\) \(both\)/);
    expect(index).toContain('## Beyond the talk');
  });

  it('fences lines that contain backticks and escapes table cells', () => {
    const entry = {
      ...kb.byId.get('conntrack-full')!,
      id: 'fence-test',
      fixtures: { positive: [{ lines: ['```not a fence``` and a | pipe'], format: 'log' as const, origin: 'a | b' }], negative: [] },
    };
    const page = renderEntryMarkdown(entry);
    expect(page).toContain('````text\n```not a fence``` and a | pipe\n````');
    expect(page).toContain('1. a \\| b (format: log)');
  });

  it('the terminal text keeps the sections `fineprint kb show` printed, and adds today and detection', () => {
    const text = renderEntryText(kb.byId.get('pids-exhausted')!);
    for (const section of ['Why:', 'Fix:', 'References:', 'Today:', 'Detection: both', 'Detectors:', 'fineprint audit checks:']) expect(text).toContain(section);
  });

  it('describes windows and sequences in words', () => {
    const crash = kb.byId.get('crash-loop')!.detectors[0]!;
    expect(describeDetector(crash)).toBe('3 x (docker event "die", exit code not 0) within 2m for the same container');
    const term = kb.byId.get('sigterm-ignored')!.detectors[0]!;
    expect(describeDetector(term)).toContain('then (docker event "kill", with signal=9) within 30s');
  });
});

describe('writing and checking a docs directory', () => {
  it('writes missing pages, rewrites changed ones, removes stale ones, then reports no drift', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fineprint-docs-'));
    try {
      writeFileSync(join(dir, 'removed-entry.md'), '# gone\n');
      writeFileSync(join(dir, 'README.md'), 'hand edited\n');
      const first = checkKbDocs(dir, pages);
      expect(first.extra).toEqual(['removed-entry.md']);
      expect(first.changed).toEqual(['README.md']);
      expect(first.missing.length).toBe(pages.size - 1);
      writeKbDocs(dir, pages);
      expect(driftCount(checkKbDocs(dir, pages))).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
