// What `npm run bench` reports: the machine it ran on and each figure beside its baseline.
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem, type } from 'node:os';

/** One measured figure, measured in the same run as its baseline. */
export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** What the value is compared with (same unit), measured side by side; null when none applies. */
  baseline: number | null;
  /** value / baseline. */
  ratio: number | null;
  /** The target, as text. */
  target: string;
  met: boolean | null;
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  kernel: string;
  node: string;
  /** 1, 5 and 15 minute load averages when the run started: figures move with the machine's load. */
  loadAverageAtStart: number[];
  /** Same at the end of the run. */
  loadAverageAtEnd?: number[];
}

function osName(): string {
  try {
    const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'));
    if (pretty?.[1]) return pretty[1];
  } catch {
    // Not Linux, or no os-release: the kernel name below says enough.
  }
  return type();
}

const rounded = (values: number[]): number[] => values.map((v) => Number(v.toFixed(2)));

export function describeMachine(): Machine {
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
    os: osName(),
    kernel: `${type()} ${release()}`,
    node: process.version,
    loadAverageAtStart: rounded(loadavg()),
  };
}

export function endMachine(machine: Machine): Machine {
  return { ...machine, loadAverageAtEnd: rounded(loadavg()) };
}

const significant = (n: number): number => (Math.abs(n) >= 100 ? Math.round(n) : Number(n.toPrecision(3)));

/** A figure from a value and its baseline; the ratio is always value / baseline, `met` the caller's verdict. */
export function figure(name: string, value: number, unit: string, baseline: number | null, target: string, met: boolean | null): Figure {
  return {
    name,
    value: significant(value),
    unit,
    baseline: baseline === null ? null : significant(baseline),
    ratio: baseline === null || baseline === 0 ? null : Number((value / baseline).toFixed(2)),
    target,
    met,
  };
}

/** The figures as a Markdown table (printed, and pasted into docs/benchmarks.md). */
export function table(figures: readonly Figure[]): string {
  const rows = figures.map((f) => [
    f.name,
    `${f.value} ${f.unit}`,
    f.baseline === null ? '-' : `${f.baseline} ${f.unit}`,
    f.ratio === null ? '-' : `${f.ratio}x`,
    f.target,
    f.met === null ? '-' : f.met ? 'yes' : 'no',
  ]);
  const header = ['figure', 'value', 'baseline', 'ratio', 'target', 'met'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function describe(machine: Machine): string {
  const load = (l: number[] | undefined) => (l ? l.join(' / ') : '-');
  return `${machine.cores} x ${machine.cpu}, ${machine.memoryGiB} GiB, ${machine.os} (${machine.kernel}), Node ${machine.node}; load average (1/5/15 min) ${load(machine.loadAverageAtStart)} at start, ${load(machine.loadAverageAtEnd)} at end`;
}

/** p-th percentile (nearest rank) of ascending values. */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

const DOCS_BEGIN = /<!-- bench:figures:begin[^>]*-->/;
const DOCS_END = '<!-- bench:figures:end -->';

/**
 * The page's generated block (between the bench:figures markers of docs/benchmarks.md): the
 * machine, the date and the command of a full run, and its table.
 */
export function withDocsTable(page: string, machine: Machine, figures: readonly Figure[], date: Date): string {
  const begin = DOCS_BEGIN.exec(page);
  const end = page.indexOf(DOCS_END);
  if (!begin || end < begin.index) throw new Error('docs/benchmarks.md has no bench:figures markers');
  const block = [
    begin[0],
    '',
    `Latest full run (\`npm run bench\`), ${date.toISOString().slice(0, 10)}: ${describe(machine)}.`,
    '',
    table(figures),
    '',
  ].join('\n');
  return page.slice(0, begin.index) + block + page.slice(end);
}
