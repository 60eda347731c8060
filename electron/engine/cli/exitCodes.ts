// The `quari` exit codes, one table: scripts tell "finished, but some files were recorded as failed" from a run
// that did not finish, so each outcome has its own code (README "The quari command line", `quari --help`).
export const EXIT = {
  /** Done: every file catalogued (ingest) / the command did what it was asked. */
  ok: 0,
  /** Error: the command could not do its job (unreadable input, refused pack, crash); the message is on stderr. */
  error: 1,
  /** Usage: unknown command, missing or malformed option. */
  usage: 2,
  /** ingest finished, and some files were recorded in the catalog as failed (listed, with their errors). */
  filesFailed: 3,
  /** ingest was cancelled (SIGINT) before it finished; running it again resumes. */
  cancelled: 130,
} as const;

export const EXIT_CODES_HELP = `Exit codes: 0 done; 1 error (nothing or not all done, message on stderr); 2 usage error;
3 ingest finished but some files were recorded as failed; 130 ingest cancelled (run it again to resume).`;
