// Small shared argument helpers for the CLI subcommands.
import { parseArgs, type ParseArgsConfig } from 'node:util';

export interface Command {
  /** One line for the top-level help. */
  synopsis: string;
  /** Full usage, printed with --help and after a usage error. */
  usage: string;
  run(argv: string[]): Promise<number>;
}

export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

/** parseArgs that turns its errors into UsageErrors and handles --help. */
export function parse<O extends Options>(argv: string[], options: O, usage: string) {
  try {
    const parsed = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
    if ((parsed.values as { help?: boolean }).help) {
      console.log(usage);
      return null;
    }
    return parsed;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export function requireString(value: unknown, flag: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new UsageError(`${flag} is required`);
  return value;
}

export function positiveInt(value: unknown, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${flag} must be a non-negative integer, got "${value}"`);
  return n;
}

/** "x,y,w,h" in pixels. */
export function parseBox(text: string, flag: string): { x: number; y: number; w: number; h: number } {
  const parts = text.split(',').map((s) => Number(s.trim()));
  if (parts.length !== 4 || parts.some((n) => !Number.isFinite(n))) throw new UsageError(`${flag} must be x,y,w,h in pixels, got "${text}"`);
  const [x, y, w, h] = parts as [number, number, number, number];
  if (w <= 0 || h <= 0 || x < 0 || y < 0) throw new UsageError(`${flag} needs x,y ≥ 0 and w,h > 0, got "${text}"`);
  return { x, y, w, h };
}
