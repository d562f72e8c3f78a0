// The `fineprint` command line as users run it: classify, kb, and clear failures on bad input.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, copyFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, REPO_ROOT } from '../support/fineprint.js';

function run(args: string[], input?: string, env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, input, encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const ID = '3f1c2a4b5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708';

describe('fineprint classify', () => {
  it('writes one JSON object a line, in order, with the matching KB ids', () => {
    const lines = [
      `6,4711,26034240339,-;Memory cgroup out of memory: Killed process 14760 (sh) total-vm:137324kB, anon-rss:130432kB, file-rss:16kB`,
      '[ 1234.567890] docker0: port 1(veth3f1c2a4) entered forwarding state',
      '',
      `{"status":"oom","id":"${ID}","Type":"container","Action":"oom","Actor":{"ID":"${ID}","Attributes":{"image":"busybox","name":"hog"}},"time":1764237600,"timeNano":1764237600123456789}`,
      'Nov 27 10:00:00 node1 kernel: cgroup: fork rejected by pids controller in /docker/' + ID,
      'web_1  | java.lang.OutOfMemoryError: Java heap space',
      `2026-11-27T10:00:00.123456789Z container health_status: unhealthy ${ID} (image=busybox, name=sick)`,
    ];
    const { status, stdout } = run(['classify'], `${lines.join('\n')}\n`);
    expect(status).toBe(0);
    const out = stdout.trim().split('\n').map((l) => JSON.parse(l) as { line: number; kb: string[] });
    expect(out).toEqual([
      { line: 1, kb: ['oom-kill'] },
      { line: 2, kb: [] },
      { line: 3, kb: [] },
      { line: 4, kb: ['oom-kill'] },
      { line: 5, kb: ['pids-exhausted'] },
      { line: 6, kb: ['jvm-heap'] },
      { line: 7, kb: ['unhealthy'] },
    ]);
  });

  it('reads a file, and refuses an unknown --source or a missing file with exit 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-cli-'));
    const file = join(dir, 'dmesg.txt');
    writeFileSync(file, '[Fri Nov 27 10:00:00 2026] nf_conntrack: table full, dropping packet\n');
    expect(run(['classify', '--source', 'dmesg', file]).stdout).toBe('{"line":1,"kb":["conntrack-full"]}\n');
    const bad = run(['classify', '--source', 'pcap', file]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--source');
    const missing = run(['classify', join(dir, 'nope.txt')]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('nope.txt');
  });
});

describe('fineprint kb', () => {
  it('lists and shows entries', () => {
    expect(run(['kb', 'list']).stdout).toMatch(/^oom-kill\s+critical\s+/m);
    const show = run(['kb', 'show', 'pids-exhausted']);
    expect(show.status).toBe(0);
    expect(show.stdout).toContain('Fix:');
    expect(run(['kb', 'show', 'nope']).status).toBe(2);
  });
});

describe('bad input stops start-up with a clear message', () => {
  it('a malformed KB entry names the file and the field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-kb-'));
    for (const f of readdirSync(join(REPO_ROOT, 'kb'))) copyFileSync(join(REPO_ROOT, 'kb', f), join(dir, f));
    writeFileSync(join(dir, 'broken.yaml'), 'id: broken\ntitle: A broken entry\nseverity: apocalyptic\n');
    const { status, stderr } = run(['start'], undefined, { FINEPRINT_KB_DIR: dir, FINEPRINT_DATA_DIR: mkdtempSync(join(tmpdir(), 'fp-data-')) });
    expect(status).toBe(2);
    expect(stderr).toContain('FP_KB_INVALID');
    expect(stderr).toContain('broken.yaml');
    expect(stderr).toContain('severity');
  });

  it('a bad configuration lists every problem', () => {
    const { status, stderr } = run(['start'], undefined, { FINEPRINT_API_PORT: 'seventy', DOCKER_HOST: 'ftp://nowhere' });
    expect(status).toBe(2);
    expect(stderr).toContain('FINEPRINT_API_PORT');
    expect(stderr).toContain('DOCKER_HOST');
  });
});
