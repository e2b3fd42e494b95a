import type { ReceiveFailure } from '@switchyard/core';

/** The HTTP status the consumer answers for each way receiving can fail. */
export function statusForFailure(failure: ReceiveFailure): number {
  switch (failure) {
    case 'decode':
      return 400;
    case 'too-large':
      return 413;
    case 'validation':
      return 422;
    case 'unknown-message':
      return 404;
    case 'unauthorized':
      return 403;
    case 'handler':
      return 500;
  }
}
