import { constants, type FileHandle, open, readFile } from 'node:fs/promises';
import { uptime } from 'node:os';
import type Docker from 'dockerode';
import { type ContainerRef, RECORD_VERSION } from '../../../shared/event.js';
import { redactText } from '../../../shared/redact.js';
import { Batcher } from '../batcher.js';
import { inspectContainer, sleep } from '../docker-api.js';
import { type AttributedRecord, OomReportAttributor, parseKmsgRecord } from '../kmsg-record.js';
import type { Source, SourceContext } from './source.js';

const NAME = 'kmsg';
const CURSOR_KEY = 'kmsg';
/** One read() returns one record; smaller buffers get EINVAL for long records. */
const RECORD_BUFFER_BYTES = 8192;
const POLL_MS = 100;
const MAX_MESSAGE = 16384;

export interface KmsgOptions {
  /** Kernel message device. Default /dev/kmsg. */
  path?: string;
  /** Without a cursor for this boot, also read the records already in the ring buffer. Default false. */
  backfill?: boolean;
}

/** The kmsg source; it also learns the host pid of each container's PID 1 from Docker's inspects. */
export interface KmsgSource extends Source {
  /** An inspect result (from the docker-events source): a running container's PID 1, or its end. */
  observeContainer(info: Pick<Docker.ContainerInspectInfo, 'Id' | 'State'>): void;
}

function errorCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/** `<boot_id>:<seq>` */
function parseCursor(value: string | undefined): { bootId: string; seq: number } | undefined {
  const m = /^(.+):(\d+)$/.exec(value ?? '');
  return m?.[1] && m[2] ? { bootId: m[1], seq: Number(m[2]) } : undefined;
}

/**
 * Kernel messages from /dev/kmsg. Node has no lseek and a blocking read parks a libuv thread forever,
 * so the device is opened non-blocking and read until EAGAIN every 100 ms. Like journald, the cursor
 * is the boot id plus the last sequence number: a restart in the same boot resumes after it, and
 * sequence gaps (EPIPE: records overwritten before they were read) are counted.
 */
export function createKmsgSource(ctx: SourceContext, options: KmsgOptions = {}): KmsgSource {
  const { log, metrics, cursors } = ctx;
  const path = options.path ?? '/dev/kmsg';
  const batcher = new Batcher({ sink: ctx.sink, log, metrics });
  const attributor = new OomReportAttributor();
  const buffer = Buffer.alloc(RECORD_BUFFER_BYTES);
  const stopSignal = new AbortController();
  let handle: FileHandle | undefined;
  let loop: Promise<void> | undefined;
  let bootId = 'unknown';
  let bootTimeMs = 0;
  let lastSeq: number | undefined;
  /** Sequence number the cursor was last set to. */
  let committedSeq: number | undefined;
  /** Time of the newest record read, ms since the epoch. */
  let newestTs = 0;
  /** Records in the ring buffer at start are skipped unless resuming or backfilling. */
  let skipBeforeUsec = -1;

  const known = new Map<string, ContainerRef>();
  /**
   * Kernel lines name a container only by its cgroup id. The name is looked up here, on the host,
   * so the line groups with the Docker events of the same container even if it reaches the
   * classifier before the container's facts do.
   */
  async function describe(id: string): Promise<ContainerRef> {
    const cached = known.get(id);
    if (cached) return cached;
    const info = await inspectContainer(ctx.docker, id).catch(() => undefined);
    if (!info) return { id };
    const ref = { id: info.Id, name: info.Name.replace(/^\//, ''), image: info.Config.Image };
    // Bounded: a host runs far fewer containers than this between two OOM reports.
    if (known.size >= 1024) known.clear();
    known.set(id, ref);
    return ref;
  }

  async function handleRecord(text: string): Promise<void> {
    const record = parseKmsgRecord(text);
    if (!record) {
      metrics.errors.inc({ stage: 'receiving', error_type: 'parse_failed' });
      return;
    }
    if (lastSeq !== undefined) {
      if (record.seq <= lastSeq) return;
      const lost = record.seq - lastSeq - 1;
      if (lost > 0) {
        metrics.kmsgGap.inc({}, lost);
        log.warn({ lost, after: lastSeq }, 'Kernel records were overwritten before they were read.');
      }
    }
    lastSeq = record.seq;
    newestTs = Math.round(bootTimeMs + record.tsUsec / 1000);
    for (const attributed of attributor.push(record)) await send(attributed);
  }

  async function send({ record, cgroupIds, containerId }: AttributedRecord): Promise<void> {
    if (record.tsUsec <= skipBeforeUsec) return;
    metrics.received.inc({ source: NAME });
    const ts = Math.round(bootTimeMs + record.tsUsec / 1000);
    const container = containerId ? await describe(containerId) : undefined;
    batcher.push({
      type: 'event',
      event: {
        v: RECORD_VERSION,
        id: `kmsg:${bootId}:${record.seq}`,
        host: ctx.host,
        kind: 'kernel',
        source: NAME,
        ts,
        message: redactText(record.message, MAX_MESSAGE),
        ...(container ? { container } : {}),
        kernel: {
          seq: record.seq,
          level: record.level,
          facility: record.facility,
          ...(cgroupIds.length > 0 ? { cgroupIds } : {}),
        },
      },
    });
  }

  /** Reads every record available now. */
  async function readAvailable(fd: FileHandle): Promise<void> {
    for (;;) {
      let bytesRead: number;
      try {
        ({ bytesRead } = await fd.read(buffer, 0, buffer.length, null));
      } catch (err) {
        if (errorCode(err) === 'EAGAIN') break;
        // The reader was moved to the oldest record still there; the sequence gap says how many were lost.
        if (errorCode(err) === 'EPIPE') continue;
        throw err;
      }
      if (bytesRead === 0) break;
      await handleRecord(buffer.toString('utf8', 0, bytesRead));
    }
    for (const attributed of attributor.expire(nowUsec())) await send(attributed);
    // A report still held is read again after a restart: the cursor stops before it.
    const held = attributor.oldestHeldSeq;
    const seq = held === undefined ? lastSeq : held - 1;
    if (seq === undefined || seq === committedSeq) return;
    committedSeq = seq;
    const newest = newestTs;
    batcher.commit(() => {
      cursors.set(CURSOR_KEY, `${bootId}:${seq}`);
      metrics.cursorLag.set({ source: NAME }, Math.max(0, (Date.now() - newest) / 1000));
    });
  }

  async function run(fd: FileHandle): Promise<void> {
    let failing = false;
    while (!stopSignal.signal.aborted) {
      await sleep(POLL_MS, stopSignal.signal);
      try {
        await readAvailable(fd);
        failing = false;
      } catch (err) {
        metrics.errors.inc({ stage: 'receiving', error_type: 'read_failed' });
        if (!failing) log.error({ err, path }, 'Reading kernel messages failed; retrying.');
        failing = true;
      }
    }
  }

  /** Now on the kernel's clock (microseconds since boot); also right before start(). */
  const nowUsec = (): number => uptime() * 1e6;

  return {
    name: NAME,
    observeContainer(info) {
      if (info.State.Running && info.State.Pid > 0) attributor.tracker.containerStarted(info.State.Pid, info.Id);
      else attributor.tracker.containerStopped(info.Id, nowUsec());
    },
    async start() {
      try {
        bootId = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
        const uptimeSec = Number.parseFloat((await readFile('/proc/uptime', 'utf8')).split(' ')[0] ?? '');
        bootTimeMs = Date.now() - uptimeSec * 1000;
        handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
        const saved = parseCursor(cursors.get(CURSOR_KEY));
        if (saved?.bootId === bootId) lastSeq = saved.seq;
        else if (!options.backfill) skipBeforeUsec = uptimeSec * 1e6;
        log.info({ path, bootId, resumeAfter: lastSeq, skipBuffered: skipBeforeUsec >= 0 }, 'Reading kernel messages.');
        await readAvailable(handle);
      } catch (err) {
        metrics.errors.inc({ stage: 'receiving', error_type: 'kmsg_unavailable' });
        log.error({ err, path }, `Cannot read kernel messages from ${path}; the kmsg source stays idle (the collector goes on without it).`);
        await handle?.close();
        handle = undefined;
        return;
      }
      loop = run(handle);
    },
    async stop() {
      stopSignal.abort();
      await loop;
      await handle?.close();
      handle = undefined;
      await batcher.close();
    },
  };
}
