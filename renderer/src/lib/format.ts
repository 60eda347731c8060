// Display formatting for numbers the analyst reads: counts, rates, durations, scores, sizes.

const integer = new Intl.NumberFormat('en-GB');

export const formatCount = (n: number) => integer.format(n);

export function formatRate(filesPerSecond: number): string {
  if (!Number.isFinite(filesPerSecond) || filesPerSecond <= 0) return '—';
  return `${filesPerSecond >= 10 ? Math.round(filesPerSecond) : filesPerSecond.toFixed(1)} files/s`;
}

export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return '—';
  if (seconds < 60) return `${Math.ceil(seconds)} s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export const formatScore = (s: number) => (Number.isFinite(s) ? s.toFixed(3) : '—');

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function formatTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' });
}

export const fileName = (path: string) => path.split(/[\\/]/).pop() ?? path;

export function errorMessage(err: unknown): string {
  if (err && typeof err === 'object' && 'message' in err && typeof err.message === 'string') {
    // Electron prefixes IPC rejections with the channel; the analyst needs only the reason.
    return err.message.replace(/^Error invoking remote method '[^']+': (?:\w*Error: )?/, '');
  }
  return String(err);
}

export function shortHash(hash: string | null): string {
  return hash ? hash.slice(0, 12) : 'none';
}
