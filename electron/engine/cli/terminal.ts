// Text from evidence and packs (file names, EXIF, manifest strings, error messages quoting them) reaches the
// analyst's terminal in the CLI's human-readable output. Raw control characters there are commands to the terminal:
// `ESC ] 52` writes the clipboard, CR/LF forge or split result rows, C1 CSI (U+009B) starts escape sequences on some
// terminals, bidi overrides reorder what is shown. Every such character is printed as a visible escape instead
// (\n, \r, \t, \u001b, \u009b, \u202e…). JSON output is left exact: JSON.stringify escapes C0 itself and scripts
// need the real names.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** `text` with every control, C1 and bidi-control character replaced by a visible escape. */
export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, (c) => NAMED[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
