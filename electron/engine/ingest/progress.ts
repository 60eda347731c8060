// Ingest progress: counts, a recent-rate files/s and an ETA, as IngestProgress snapshots (which the app service
// hands to the UI as the API's IngestProgress) and a one-line terminal renderer for the CLI.

/** One snapshot of a running ingest. The engine's own type; the API contract's IngestProgress has the same shape. */
export interface IngestProgress {
  runId: string;
  root: string;
  state: 'scanning' | 'running' | 'done' | 'cancelled' | 'failed';
  total: number;
  done: number;
  added: number;
  skipped: number;
  failed: number;
  filesPerSecond: number;
  etaSeconds: number | null;
  currentPath?: string;
  error?: string;
}

/** Rate over the last RATE_WINDOW_MS, so skipped files at the start do not make the ETA optimistic for long. */
const RATE_WINDOW_MS = 15_000;

export class ProgressTracker {
  private readonly samples: { t: number; done: number }[] = [];
  state: IngestProgress['state'] = 'scanning';
  total = 0;
  done = 0;
  added = 0;
  skipped = 0;
  failed = 0;
  currentPath: string | undefined;
  error: string | undefined;

  constructor(
    readonly runId: string,
    readonly root: string,
    private readonly now: () => number = () => performance.now(),
  ) {}

  snapshot(): IngestProgress {
    const t = this.now();
    this.samples.push({ t, done: this.done });
    while (this.samples.length > 2 && t - this.samples[1].t > RATE_WINDOW_MS) this.samples.shift();
    const first = this.samples[0];
    const dt = (t - first.t) / 1000;
    const filesPerSecond = dt > 0 ? (this.done - first.done) / dt : 0;
    const remaining = this.total - this.done;
    const etaSeconds = this.state === 'done' ? 0 : this.state !== 'running' ? null : filesPerSecond > 0 ? remaining / filesPerSecond : null;
    return {
      runId: this.runId,
      root: this.root,
      state: this.state,
      total: this.total,
      done: this.done,
      added: this.added,
      skipped: this.skipped,
      failed: this.failed,
      filesPerSecond,
      etaSeconds,
      ...(this.currentPath !== undefined ? { currentPath: this.currentPath } : {}),
      ...(this.error !== undefined ? { error: this.error } : {}),
    };
  }
}

function formatEta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const two = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${two(m)}:${two(s % 60)}` : `${two(m)}:${two(s % 60)}`;
}

export function formatProgress(p: IngestProgress): string {
  const pct = p.total > 0 ? ((100 * p.done) / p.total).toFixed(1) : '0.0';
  return (
    `${p.state} ${p.done}/${p.total} (${pct}%) added ${p.added} skipped ${p.skipped} failed ${p.failed}` +
    ` ${p.filesPerSecond.toFixed(1)} files/s ETA ${formatEta(p.etaSeconds)}`
  );
}

/**
 * A progress listener for a terminal: on a TTY it redraws one line in place (at most 10 times a second);
 * otherwise it prints a line every `plainIntervalMs` and at every state change, so logs stay readable.
 */
export function terminalProgress(
  stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number } = process.stderr,
  plainIntervalMs = 5000,
): (p: IngestProgress) => void {
  let last = 0;
  let lastState = '';
  return (p) => {
    const t = performance.now();
    const stateChanged = p.state !== lastState;
    const final = p.state === 'done' || p.state === 'cancelled' || p.state === 'failed';
    if (!stateChanged && t - last < (stream.isTTY ? 100 : plainIntervalMs)) return;
    last = t;
    lastState = p.state;
    const line = formatProgress(p) + (p.error ? ` — ${p.error}` : '');
    if (stream.isTTY) {
      const width = stream.columns ?? 120;
      stream.write(`\r\x1b[2K${line.slice(0, width - 1)}${final ? '\n' : ''}`);
    } else {
      stream.write(`${line}\n`);
    }
  };
}
