import { describe, expect, it } from 'vitest';
import { SalescalingClient } from '#shared/salescaling/client.ts';
import {
  SalescalingInvalidRequestError,
  SalescalingUnexpectedResponseError,
} from '#shared/salescaling/errors.ts';
import { createRequestLimiter } from '#shared/salescaling/limiter.ts';

const ID = '5516cd47-2bd0-4f4f-adc2-22524e54ba4d';

/** A client whose fetch records calls and answers from a script (unit level: no server). */
function clientWith(answers: Array<{ status: number; body: unknown }> = [], options = {}) {
  const calls: Array<{ url: string; method: string; body: unknown }> = [];
  const client = new SalescalingClient({
    baseUrl: 'http://salescaling.test/api/v1/',
    apiKey: async () => 'unit-test-key-value',
    limiter: createRequestLimiter({ requestsPerSecond: 1000 }),
    retries: 0,
    fetch: async (url, init) => {
      calls.push({
        url: String(url),
        method: String(init?.method),
        body: init?.body ? JSON.parse(String(init.body)) : undefined,
      });
      const answer = answers.shift() ?? { status: 500, body: {} };
      return new Response(typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body), {
        status: answer.status,
      });
    },
    ...options,
  });
  return { client, calls };
}

const ok = (data: unknown) => ({ status: 200, body: { statusCode: 200, count: 1, error: null, data } });

describe('invalid input is rejected before any request', () => {
  it.each([
    [
      'createOpportunity',
      (c: SalescalingClient) => c.createOpportunity({ name: '', closeProbability: 200 }),
      ['name', 'closeProbability'],
    ],
    ['getOpportunity', (c: SalescalingClient) => c.getOpportunity('123'), ['id']],
    [
      'updateOpportunity',
      (c: SalescalingClient) => c.updateOpportunity(ID, { closeDate: 'soon' }),
      ['closeDate'],
    ],
    ['linkContact', (c: SalescalingClient) => c.linkContact(ID, 'nope'), ['contactId']],
    ['unlinkCompany', (c: SalescalingClient) => c.unlinkCompany(ID, 'nope'), ['companyId']],
    ['createContact', (c: SalescalingClient) => c.createContact({ email: 'not-an-email' }), ['email']],
    [
      'createCompany',
      (c: SalescalingClient) => c.createCompany({ name: 'Acme', domain: 'acme' }),
      ['domain'],
    ],
    ['listContacts', (c: SalescalingClient) => c.listContacts({ page: 0 }), ['page']],
    ['findContactByEmail', (c: SalescalingClient) => c.findContactByEmail('nobody'), ['email']],
  ] as const)('%s', async (_, call, fields) => {
    const { client, calls } = clientWith();
    const failure = call(client);
    await expect(failure).rejects.toBeInstanceOf(SalescalingInvalidRequestError);
    await expect(failure).rejects.toMatchObject({
      status: undefined,
      fields: fields.map((field) => expect.objectContaining({ field })),
    });
    await expect(failure).rejects.toThrow(/nothing was sent/);
    expect(calls).toEqual([]);
  });
});

describe('configured values for status, risk and priority', () => {
  const allowedValues = { status: ['open', 'won', 'lost'] };

  it('refuses a value outside the list', async () => {
    const { client, calls } = clientWith([], { allowedValues });
    await expect(client.createOpportunity({ name: 'x', status: 'Won!' })).rejects.toMatchObject({
      fields: [expect.objectContaining({ field: 'status', message: expect.stringContaining('"open"') })],
    });
    expect(calls).toEqual([]);
  });

  it('carries over a stored value it would not write itself', async () => {
    const current = { id: ID, name: 'Deal', status: 'legacy-stage', amount: 5 };
    const { client, calls } = clientWith([ok(current), ok({ ...current, amount: 6 })], { allowedValues });
    await client.updateOpportunity(ID, { amount: 6 });
    expect(calls[1]).toMatchObject({
      method: 'PUT',
      body: { name: 'Deal', status: 'legacy-stage', amount: 6 },
    });
  });
});

describe('safe update', () => {
  it('sends every writable field it read, merged with the change, and nothing else', async () => {
    const current = {
      id: ID,
      name: 'Deal',
      amount: 100,
      finalAmount: null,
      risk: 'Low',
      description: 'keep',
      status: 'open',
      createdAt: '2024-01-15T10:00:00.000Z',
      updatedAt: '2024-01-15T10:00:00.000Z',
      someServerField: 'x',
    };
    const { client, calls } = clientWith([ok(current), ok(current)]);
    await client.updateOpportunity(ID, { status: 'lost', featuredNotes: null });
    expect(calls.map((c) => c.method)).toEqual(['GET', 'PUT']);
    expect(calls[1]?.body).toEqual({
      name: 'Deal',
      amount: 100,
      risk: 'Low',
      description: 'keep',
      status: 'lost',
      featuredNotes: null,
    });
  });
});

describe('responses', () => {
  it('reports a 2xx that is not the envelope as an unexpected response', async () => {
    const { client } = clientWith([{ status: 200, body: '<html>maintenance</html>' }]);
    await expect(client.listOpportunities()).rejects.toBeInstanceOf(SalescalingUnexpectedResponseError);
  });

  it('reports records of the wrong shape as an unexpected response, naming the field', async () => {
    const { client } = clientWith([ok([{ id: 42 }])]);
    await expect(client.listOpportunities()).rejects.toThrow(/0\.id/);
  });

  it('redacts the key if Salescaling echoes it in an error', async () => {
    const { client } = clientWith([
      { status: 400, body: { statusCode: 400, error: 'bad key unit-test-key-value in header', data: null } },
    ]);
    const failure = client.listOpportunities();
    await expect(failure).rejects.toThrow(/bad key \[redacted\] in header/);
  });

  it('sends the key only in x-api-key and the query only with known parameters', async () => {
    const { client, calls } = clientWith([ok([])]);
    await client.listOpportunities({ name: 'Acme & Co', page: 2, limit: 5 });
    const url = new URL(calls[0]?.url ?? '');
    expect(url.pathname).toBe('/api/v1/opportunities');
    expect(Object.fromEntries(url.searchParams)).toEqual({ name: 'Acme & Co', page: '2', limit: '5' });
  });
});
