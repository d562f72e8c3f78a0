import type { KnowledgeBase } from '../../shared/kb/load.js';
import type { Detection, Detector, Fixture, KbEntry, Match } from '../../shared/kb/schema.js';
import { TALK_POINTS, type TalkPoint } from '../../shared/kb/talk.js';

/**
 * Pure renderers of KB entries: the terminal text of `fineprint kb show`, and the markdown reference
 * pages of docs/kb/ (`fineprint kb docs`). No I/O here, so the docs drift test renders in-process.
 */

/** How an entry is served; entries without the field are runtime entries. */
export const detectionOf = (entry: KbEntry): Detection => entry.detection ?? 'runtime';

const DETECTION_WORDS: Record<Detection, string> = {
  runtime: 'detected at run time (Docker events, kernel messages, container and daemon logs, host probes)',
  audit: 'served by `fineprint audit` (cannot be seen in events or logs)',
  both: 'detected at run time and served by `fineprint audit`',
};

const asArray = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** One match in words, e.g. `kernel message /Out of memory/`, `docker event "die", exit code 137`. */
function describeMatch(match: Match): string {
  const parts: string[] = [];
  const kinds = asArray(match.kind);
  const actions = asArray(match.action);
  if (actions.length > 0) parts.push(`${kinds.length > 0 ? kinds.join('/') : 'docker'} event ${actions.map((a) => `"${a}"`).join(' or ')}`);
  else if (kinds.length > 0) parts.push(`${kinds.join('/')} record`);
  if (match.attributes) {
    parts.push(`with ${Object.entries(match.attributes).map(([k, v]) => `${k}=${v}`).join(', ')}`);
  }
  const exitCodes = asArray(match.exitCode);
  if (exitCodes.length > 0) parts.push(`exit code ${exitCodes.join(' or ')}`);
  if (match.exitCodeNot) parts.push(`exit code not ${match.exitCodeNot.join(' or ')}`);
  if (match.message) parts.push(`message matching /${match.message}/${match.ignoreCase ? 'i' : ''}`);
  if (match.probe) {
    const { metric, atLeast, above } = match.probe;
    const bounds = [atLeast !== undefined ? `>= ${atLeast}` : '', above !== undefined ? `> ${above}` : ''].filter(Boolean).join(' and ');
    parts.push(`probe ${metric}${bounds ? ` ${bounds}` : ''}`);
  }
  if (match.container) parts.push('attributed to a container');
  return parts.join(', ');
}

const formatMs = (ms: number): string =>
  ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : ms % 60_000 === 0 ? `${ms / 60_000}m` : ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;

/** A detector in words: its single match, its window, or its sequence. */
export function describeDetector(detector: Detector): string {
  if ('match' in detector) return describeMatch(detector.match);
  if ('window' in detector) {
    const { count, within, match } = detector.window;
    return `${count} x (${describeMatch(match)}) within ${formatMs(within)} for the same container`;
  }
  const { steps, within } = detector.sequence;
  return `${steps.map((s) => `(${describeMatch(s)})`).join(' then ')} within ${formatMs(within)} for the same container`;
}

const pointsOf = (entry: KbEntry): TalkPoint[] => {
  const covered = new Set<string>(entry.covers ?? []);
  return TALK_POINTS.filter((p) => covered.has(p.id));
};

/** The entry as terminal text (`fineprint kb show ID`). */
export function renderEntryText(entry: KbEntry): string {
  const indent = (text: string) => `  ${text.trim().replace(/\n/g, '\n  ')}`;
  const lines = [
    `${entry.id}: ${entry.title} [${entry.severity}]`,
    `From the talk: ${entry.talk}`,
    `Detection: ${detectionOf(entry)} - ${DETECTION_WORDS[detectionOf(entry)]}`,
    ...(entry.tags ? [`Tags: ${entry.tags.join(', ')}`] : []),
  ];
  const points = pointsOf(entry);
  if (points.length > 0) lines.push('Covers:', ...points.map((p) => `  - ${p.section}: ${p.point}`));
  lines.push('', 'Why:', indent(entry.why), '', 'Fix:', ...entry.fix.map((f) => `  - ${f}`));
  if (entry.today) {
    lines.push('', 'Today:', indent(entry.today.holds));
    if (entry.today.changed.length > 0) {
      lines.push('', 'Changed since the talk (2016):', ...entry.today.changed.map((c) => `  - ${c.version}: ${c.what} (${c.reference})`));
    }
  }
  if (entry.audit && entry.audit.length > 0) lines.push('', 'fineprint audit checks:', ...entry.audit.map((a) => `  - ${a}`));
  if (entry.detectors.length > 0) {
    lines.push(
      '',
      'Detectors:',
      ...entry.detectors.map((d) => `  - ${d.id}${d.evidenceOnly ? ' (evidence only)' : ''}${d.attribution === 'container' ? ' (container-scoped)' : ''}: ${d.description ? `${d.description} ` : ''}[${describeDetector(d)}]`),
    );
  }
  lines.push('', 'References:', ...entry.references.map((r) => `  - ${r.title}: ${r.url}`));
  return `${lines.join('\n')}\n`;
}

// --- markdown -------------------------------------------------------------------------------------

/** Text safe inside a markdown table cell. */
const cell = (text: string): string => text.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');

/** Inline code that survives backticks inside. */
const code = (text: string): string => {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  return longest > 0 || text.startsWith('`') || text.endsWith('`') ? `${fence} ${text} ${fence}` : `${fence}${text}${fence}`;
};

/** A fenced block long enough not to be closed by the lines it holds. */
const block = (lines: readonly string[], info = 'text'): string => {
  const longest = Math.max(2, ...lines.flatMap((l) => l.match(/`{3,}/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  return [`${fence}${info}`, ...lines, fence].join('\n');
};

const entryLink = (entry: KbEntry): string => `[${entry.id}](${entry.id}.md)`;

/** A fixture's container, in words: its hostname, mounts, and the hostname that used them before. */
function fixtureContainer(container: NonNullable<Fixture['container']>): string {
  const mounts = container.mounts.map((m) => `${m.type}${m.source ? ` ${m.source}` : ''} at ${m.destination}${m.sizeBytes !== undefined ? ` (${m.sizeBytes} bytes)` : ''}`);
  return `; from a container with hostname ${code(container.hostname)} and ${mounts.join(', ')}${container.previousHostname ? `, used before by hostname ${code(container.previousHostname)}` : ''}`;
}

function fixtureSection(fixtures: readonly Fixture[]): string[] {
  return fixtures.flatMap((f, index) => [`${index + 1}. ${cell(f.origin)} (format: ${f.format}${f.container ? fixtureContainer(f.container) : ''})`, '', block(f.lines), '']);
}

/** The reference page docs/kb/ID.md of one entry. */
export function renderEntryMarkdown(entry: KbEntry, kb?: KnowledgeBase): string {
  const detection = detectionOf(entry);
  const out: string[] = [
    `# ${entry.title}`,
    '',
    `${code(entry.id)} · severity **${entry.severity}** · detection **${detection}**: ${DETECTION_WORDS[detection]}`,
    '',
    ...(entry.tags ? [`Tags (for notification routes): ${entry.tags.map(code).join(', ')}`, ''] : []),
    `> From the talk: ${entry.talk}`,
    '',
  ];
  const points = pointsOf(entry);
  if (points.length > 0) {
    out.push('Points of the talk this entry covers:', '', ...points.map((p) => `- ${p.section}: ${p.point}`), '');
  } else {
    out.push('This pitfall is not named in the talk; it is a well-known production pitfall of Docker hosts.', '');
  }
  out.push('## Why', '', entry.why.trim(), '', '## Fix', '', ...entry.fix.map((f) => `- ${f}`), '');
  if (entry.today) {
    out.push('## Today', '', entry.today.holds.trim(), '');
    if (entry.today.changed.length > 0) {
      out.push(
        '### Changed since the talk (2016)',
        '',
        '| Version | What changed | Reference |',
        '| --- | --- | --- |',
        ...entry.today.changed.map((c) => `| ${cell(c.version)} | ${cell(c.what)} | <${c.reference}> |`),
        '',
      );
    }
  }
  if (entry.audit && entry.audit.length > 0) {
    out.push('## What `fineprint audit` checks', '', ...entry.audit.map((a) => `- ${a}`), '');
  }
  if (entry.detectors.length > 0) {
    out.push('## Signals that detect it', '');
    for (const d of entry.detectors) {
      const notes = [
        ...(d.evidenceOnly ? ['evidence only: adds to an open occurrence, never opens one'] : []),
        ...(d.attribution === 'container' ? ['container-scoped: live events naming no container join that container\'s occurrence, never a host-level incident'] : []),
        ...(d.volumeReused ? ['only when the volume holding the path served a container of another hostname before'] : []),
      ];
      const note = notes.length > 0 ? ` (${notes.join('; ')})` : '';
      out.push(`- ${code(d.id)}${note}: ${d.description ?? ''}`.trimEnd(), `  - ${code(describeDetector(d))}`, ...(d.notes ?? []).map((n) => `  - Note for the place (the first whose placeholders all have a value): ${n}`));
    }
    out.push('');
  }
  if (entry.supersedes && entry.supersedes.length > 0) {
    const others = entry.supersedes.map((id) => {
      const other = kb?.byId.get(id);
      return other ? entryLink(other) : code(id);
    });
    out.push(`Supersedes ${others.join(', ')}: an occurrence of those for the same container becomes this entry's evidence.`, '');
  }
  const linked = (ids: readonly string[]) =>
    ids
      .map((id) => {
        const other = kb?.byId.get(id);
        return other ? entryLink(other) : code(id);
      })
      .join(', ');
  if (entry.consequenceOf && entry.consequenceOf.length > 0) {
    out.push(
      `A consequence of ${linked(entry.consequenceOf)}: an incident of this entry that begins while one of those is active for the same container (within the merge window, not before it began) is linked under it.`,
      '',
    );
  }
  if (entry.warningOf) {
    out.push(`The warning of ${linked([entry.warningOf])}: its incident is that entry's incident for the same container, which that entry's signal, if it comes, joins and raises to its own severity.`, '');
  }
  const warnings = kb?.entries.filter((e) => e.warningOf === entry.id).map((e) => e.id) ?? [];
  if (warnings.length > 0) out.push(`Warned of by ${linked(warnings)}: an incident of this entry for a container with such a warning is the warning's incident, raised.`, '');
  const consequences = kb?.entries.filter((e) => e.consequenceOf?.includes(entry.id)).map((e) => e.id) ?? [];
  if (consequences.length > 0) out.push(`Can cause ${linked(consequences)}: their incidents for the same container are linked under this entry's.`, '');
  if (entry.fixtures.positive.length > 0 || entry.fixtures.negative.length > 0) {
    out.push('## Real lines that prove it', '');
    out.push(
      'Each line below goes through the production parser and classifier in `test/unit/kb-fixtures.test.ts`;',
      'the lines of one fixture are fed in order (windows and sequences).',
      '',
    );
    if (entry.fixtures.positive.length > 0) {
      out.push('### Lines that file this entry', '', ...fixtureSection(entry.fixtures.positive));
    }
    if (entry.fixtures.negative.length > 0) {
      out.push('### Benign look-alikes that must not file it', '', ...fixtureSection(entry.fixtures.negative));
    }
  }
  out.push('## References', '', ...entry.references.map((r) => `- [${r.title.replace(/[[\]]/g, '')}](${r.url})`), '');
  out.push('---', '', `Generated from ${code(`kb/${entry.id}.yaml`)} by ${code('fineprint kb docs')}; edit the YAML, not this page.`, '');
  return out.join('\n');
}

/** How a set of entries serves a point: runtime, audit, or both. */
function servedBy(entries: readonly KbEntry[]): string {
  const kinds = new Set(entries.flatMap((e) => (detectionOf(e) === 'both' ? ['runtime', 'audit'] : [detectionOf(e)])));
  if (kinds.has('runtime') && kinds.has('audit')) return 'runtime + audit';
  if (kinds.has('runtime')) return 'runtime';
  if (kinds.has('audit')) return 'audit';
  return '**not covered**';
}

/** The index page docs/kb/README.md: every entry, and every point of the talk mapped to its entries. */
export function renderIndexMarkdown(kb: KnowledgeBase): string {
  const entries = [...kb.entries].sort((a, b) => a.id.localeCompare(b.id));
  const count = (d: Detection) => entries.filter((e) => detectionOf(e) === d).length;
  const out: string[] = [
    '# The fine print: knowledge base reference',
    '',
    'One page per entry of `kb/`: why it happens, how to fix it, what still holds on current Docker,',
    'kernels and runtimes and what changed since the talk "Docker - the fine print" (Avishai Ish-Shalom,',
    '2016), the signals that detect it, and the real lines that prove them.',
    '',
    `${entries.length} entries: ${count('runtime')} detected at run time, ${count('both')} detected at run time and`,
    `checked by \`fineprint audit\`, ${count('audit')} served by \`fineprint audit\` only (they cannot be seen in`,
    'events or logs).',
    '',
    '## Entries',
    '',
    '| Entry | Severity | Detection | Title |',
    '| --- | --- | --- | --- |',
    ...entries.map((e) => `| ${entryLink(e)} | ${e.severity} | ${detectionOf(e)} | ${cell(e.title)} |`),
    '',
    '## The talk, point by point',
    '',
    'Every point of the talk and the entries that cover it; "runtime" means fineprint files an incident',
    'when it happens, "audit" means `fineprint audit` finds the exposure in the configuration before it',
    'bites.',
    '',
    '| Section | Point | Entries | Served by |',
    '| --- | --- | --- | --- |',
  ];
  for (const point of TALK_POINTS) {
    const covering = entries.filter((e) => (e.covers ?? []).includes(point.id));
    const links = covering.map((e) => `${entryLink(e)} (${detectionOf(e)})`).join(', ');
    out.push(`| ${cell(point.section)} | ${cell(point.point)} | ${links || '-'} | ${servedBy(covering)} |`);
  }
  const beyond = entries.filter((e) => (e.covers ?? []).length === 0);
  if (beyond.length > 0) {
    out.push(
      '',
      '## Beyond the talk',
      '',
      'Well-known production pitfalls of Docker hosts that the talk does not name:',
      '',
      ...beyond.map((e) => `- ${entryLink(e)} (${detectionOf(e)}): ${e.title}`),
    );
  }
  out.push('', '---', '', 'Generated from `kb/*.yaml` by `fineprint kb docs` (`npm run docs:kb`); `fineprint kb docs --check`', 'and `test/unit/kb-docs.test.ts` fail when these pages drift from `kb/`.', '');
  return out.join('\n');
}

/** Every page of docs/kb/, by file name. */
export function renderKbDocs(kb: KnowledgeBase): Map<string, string> {
  const pages = new Map<string, string>([['README.md', renderIndexMarkdown(kb)]]);
  for (const entry of kb.entries) pages.set(`${entry.id}.md`, renderEntryMarkdown(entry, kb));
  return pages;
}
