// The `fineprint` command line as users run it: classify, kb, and clear failures on bad input.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync, copyFileSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ClassifiedLine } from '../../services/cli/classify.js';
import { loadKnowledgeBase } from '../../shared/kb/load.js';
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
      { line: 1, kb: ['oom-kill'], format: 'kmsg' },
      { line: 2, kb: [], format: 'dmesg' },
      { line: 3, kb: [], format: 'text' },
      { line: 4, kb: ['oom-kill'], format: 'docker-event' },
      { line: 5, kb: ['pids-exhausted'], format: 'syslog' },
      { line: 6, kb: ['jvm-heap'], format: 'docker-log' },
      { line: 7, kb: ['unhealthy'], format: 'docker-event' },
    ]);
  });

  it('reads a file, and refuses an unknown --source or a missing file with exit 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-cli-'));
    const file = join(dir, 'dmesg.txt');
    writeFileSync(file, '[Fri Nov 27 10:00:00 2026] nf_conntrack: table full, dropping packet\n');
    expect(run(['classify', '--source', 'dmesg', file]).stdout).toBe('{"line":1,"kb":["conntrack-full"],"format":"dmesg"}\n');
    const bad = run(['classify', '--source', 'pcap', file]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--source');
    const missing = run(['classify', join(dir, 'nope.txt')]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('nope.txt');
  });

  it('--format text prints only the lines that matched, with format and entry title, and a count', () => {
    const lines = [
      'web_1  | GET /health 200',
      `6,4711,26034240339,-;Memory cgroup out of memory: Killed process 14760 (sh) total-vm:137324kB, anon-rss:130432kB, file-rss:16kB`,
      // A hostile line: its escape sequence must not reach the terminal.
      'web_1  | java.lang.OutOfMemoryError: Java heap space \u001b]0;owned\u0007',
    ];
    const { status, stdout } = run(['classify', '--format', 'text'], `${lines.join('\n')}\n`);
    expect(status).toBe(0);
    const title = (id: string) => loadKnowledgeBase().byId.get(id)?.title;
    expect(stdout).toContain(`line 2 (kmsg): ${lines[1]}\n  oom-kill: ${title('oom-kill')}\n`);
    expect(stdout).toContain(`line 3 (docker-log): web_1  | java.lang.OutOfMemoryError: Java heap space \uFFFD]0;owned\uFFFD\n  jvm-heap: ${title('jvm-heap')}\n`);
    expect(stdout).not.toContain('line 1 ');
    expect(stdout).not.toContain('\u001b');
    expect(stdout.endsWith('2 of 3 lines matched a KB entry.\n')).toBe(true);
    const bad = run(['classify', '--format', 'yaml'], 'x\n');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--format');
  });
});

/** Runs `fineprint classify` on raw bytes; returns the parsed output objects. */
function classifyBytes(input: Buffer, args: string[] = []) {
  const result = spawnSync(process.execPath, [BIN, 'classify', ...args], { cwd: REPO_ROOT, input, maxBuffer: 64 * 1024 * 1024 });
  const stdout = result.stdout.toString('utf8');
  return {
    status: result.status,
    stderr: result.stderr.toString('utf8'),
    out: stdout === '' ? [] : stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as ClassifiedLine),
  };
}

describe('fineprint classify on bad input: one object a line, no crash', () => {
  it('an empty input gives no output', () => {
    expect(classifyBytes(Buffer.alloc(0))).toMatchObject({ status: 0, out: [] });
  });

  it('CRLF, NUL bytes, invalid UTF-8 and binary garbage each give their object', () => {
    const garbage = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256).filter((b) => b !== 10));
    const input = Buffer.concat([
      Buffer.from('[ 5.1] nf_conntrack: table full, dropping packet\r\n'),
      Buffer.from('a\u0000b\u0000 Memory cgroup out of memory: Killed process 1 (sh) total-vm:1kB\n'),
      Buffer.from([0xc3, 0x28, 0xff, 0xfe, 0x0a]),
      garbage,
      Buffer.from('\nlast line without newline'),
    ]);
    const { status, out, stderr } = classifyBytes(input);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(out.map((o) => o.line)).toEqual([1, 2, 3, 4, 5]);
    expect(out[0]).toMatchObject({ kb: ['conntrack-full'], format: 'dmesg' });
    expect(out[1]).toMatchObject({ kb: ['oom-kill'], format: 'text' });
  });

  it('a 1 MB line is classified on its first 64 KiB and the rest is counted', () => {
    const head = 'Memory cgroup out of memory: Killed process 1 (sh) total-vm:1kB ';
    const line = head + 'x'.repeat(1024 * 1024);
    const { status, out } = classifyBytes(Buffer.from(`${line}\nweb-1  | ok\n`));
    expect(status).toBe(0);
    expect(out).toEqual([
      { line: 1, kb: ['oom-kill'], format: 'text', truncatedBytes: line.length - 64 * 1024 },
      { line: 2, kb: [], format: 'docker-log' },
    ]);
  });

  it('--explain names the detector and the text it matched', () => {
    const line = 'INFO: task kworker/u8:2:123 blocked for more than 120 seconds.';
    const { out } = classifyBytes(Buffer.from(`${line}\n`), ['--explain']);
    expect(out).toMatchObject([{ line: 1, kb: ['hung-task'], format: 'text', explain: [{ kb: 'hung-task', detector: 'hung-task' }] }]);
    const matched = out[0]?.explain?.[0]?.matched ?? '';
    expect(matched).toMatch(/task kworker\/u8:2:123 blocked for more than 120 seconds/);
    expect(line).toContain(matched);
  });

  it('streams: a 100 MB input classifies in a 64 MiB heap with the peak RSS of a 1 MB one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-rss-'));
    const probe = join(dir, 'peak-rss.cjs');
    // Preloaded into the real CLI: writes its own peak RSS (KiB) when it exits.
    writeFileSync(probe, "process.on('exit', () => require('fs').writeFileSync(process.env.FP_PEAK_RSS_FILE, String(process.resourceUsage().maxRSS)));\n");
    const lines = [
      '6,4711,26034240339,-;Memory cgroup out of memory: Killed process 14760 (sh) total-vm:137324kB, anon-rss:130432kB',
      '[ 1234.567890] docker0: port 1(veth3f1c2a4) entered forwarding state',
      'web_1  | 172.18.0.1 - - [27/Nov/2026:10:00:00 +0000] "GET /api/items HTTP/1.1" 200 615 "-" "curl/8.5.0"',
      'INFO: task kworker/u8:2:123 blocked for more than 120 seconds.',
      'Nov 27 10:00:00 node1 dockerd[812]: time="2026-11-27T10:00:00Z" level=info msg="Container 3f1c started"',
    ];
    const block = Buffer.from(`${Array.from({ length: 2000 }, (_, i) => lines[i % lines.length]).join('\n')}\n`);
    const linesPerBlock = 2000;
    const HEAP_MIB = 64;
    async function peakRss(megabytes: number): Promise<{ kib: number; linesIn: number; linesOut: number; matched: number }> {
      const rssFile = join(dir, `rss-${megabytes}`);
      // Left alone, V8 lets its heap grow far past the live set before collecting; capped, the run
      // shows what classify needs. Holding the input (or one unbounded line) would not fit.
      const child = spawn(process.execPath, [`--max-old-space-size=${HEAP_MIB}`, '--require', probe, BIN, 'classify'], {
        cwd: REPO_ROOT,
        env: { ...process.env, FP_PEAK_RSS_FILE: rssFile },
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      let outputLines = 0;
      let matched = 0;
      let tail = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (text: string) => {
        const parts = (tail + text).split('\n');
        tail = parts.pop() ?? '';
        outputLines += parts.length;
        for (const part of parts) if (!part.includes('"kb":[]')) matched += 1;
      });
      const exited = once(child, 'exit');
      const blocks = Math.ceil((megabytes * 1024 * 1024) / block.length);
      for (let i = 0; i < blocks; i += 1) {
        if (!child.stdin.write(block)) await once(child.stdin, 'drain');
      }
      child.stdin.end();
      const [code] = await exited;
      expect(code).toBe(0);
      return { kib: Number(readFileSync(rssFile, 'utf8')), linesIn: blocks * linesPerBlock, linesOut: outputLines, matched };
    }
    const small = await peakRss(1);
    const large = await peakRss(100);
    expect(large.linesIn).toBeGreaterThan(1_000_000);
    expect(large.linesOut).toBe(large.linesIn);
    // Each round of 5 lines has 2 matches (the kmsg OOM kill, the bare hung task).
    expect(large.matched).toBe((large.linesIn / 5) * 2);
    // Streaming: the peak RSS of 100 MB stays within a few MiB of the 1 MB run's.
    expect(large.kib - small.kib, `peak RSS ${small.kib} KiB on 1 MB, ${large.kib} KiB on 100 MB`).toBeLessThan(32 * 1024);
  }, 300_000);
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
