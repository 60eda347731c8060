// Errors meant for the analyst: a code the UI can act on (see ApiError in electron/shared/api.ts) and a message.
// Both hosts pass the code through; any other error crosses as 'internal'.
import type { ApiError } from '../../shared/api.ts';

export class ApiFailure extends Error {
  constructor(
    readonly code: ApiError['code'],
    message: string,
  ) {
    super(message);
    this.name = 'ApiFailure';
  }
}
