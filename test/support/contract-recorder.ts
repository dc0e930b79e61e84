import { type ContractIssue, salescalingContract } from '#local/emulator/openapi.ts';
import { matchOperation } from '#shared/salescaling/operations.ts';

/**
 * A `fetch` for the Salescaling client that keeps every answer it receives, and checks each against
 * docs/salescaling-openapi.yaml with the validators the emulator uses: the contract suite's way of
 * holding a live account (or the emulator) to the document.
 */
export interface RecordedAnswer {
  operation: string;
  method: string;
  path: string;
  status: number;
  issues: ContractIssue[];
}

export function contractRecorder(baseUrl: string) {
  const basePath = new URL(baseUrl).pathname.replace(/\/+$/, '');
  const answers: RecordedAnswer[] = [];
  let checkedUpTo = 0;

  const recordingFetch: typeof globalThis.fetch = async (input, init) => {
    const response = await globalThis.fetch(input, init);
    const url = new URL(input instanceof Request ? input.url : String(input));
    const method = (init?.method ?? 'GET').toUpperCase();
    const path = url.pathname.startsWith(basePath) ? url.pathname.slice(basePath.length) : url.pathname;
    const match = matchOperation(method, path);
    const text = await response.clone().text();
    let issues: ContractIssue[];
    if (!match)
      issues = [{ field: '(request)', message: `${method} ${path} is no operation of the document` }];
    else {
      try {
        issues = salescalingContract().checkResponse(match.name, response.status, JSON.parse(text));
      } catch {
        issues = [{ field: '(body)', message: `not JSON: ${text.slice(0, 80)}` }];
      }
    }
    answers.push({ operation: match?.name ?? '?', method, path, status: response.status, issues });
    return response;
  };

  return {
    fetch: recordingFetch,
    answers,
    /** The answers received since the last call that break the document (each with what is wrong). */
    violationsSinceLastCheck(): Array<Omit<RecordedAnswer, 'path'>> {
      const fresh = answers.slice(checkedUpTo);
      checkedUpTo = answers.length;
      return fresh
        .filter((answer) => answer.issues.length > 0)
        .map(({ operation, method, status, issues }) => ({ operation, method, status, issues }));
    },
  };
}
