import fc from 'fast-check';
import { allEvents, EVENT_SOURCE } from '#shared/events/catalog.ts';
import {
  type Field,
  type FuzzSecrets,
  flatObject,
  formBody,
  PROTOTYPE_KEYS,
  providerPayload,
  type SignatureMode,
  type SignedProvider,
  signatureHeaders,
  signedProviders,
  tallyOptionBomb,
} from './payloads.ts';

/**
 * The fuzz's requests: one generator (a fast-check arbitrary) per category, each producing only
 * requests that are invalid or refused by construction — no valid email, a bad signature, a bad
 * origin, a filled honeypot, a field or body over a bound, a forged source — so that any 2xx that
 * publishes, any event and any Salescaling call is a finding. A case holds small parameters; its
 * bytes are built when it is sent (`build`), so 10,000 cases of up to 100 KB cost no memory, and
 * signatures use the time of sending.
 */

/** What a correct system answers: the fuzz fails a request answered otherwise. */
export type Expectation =
  /** Any 4xx. */
  | 'refused'
  /** Exactly 400 (malformed path, out-of-range paging). */
  | 'bad-request'
  /** Exactly 403 (a non-loopback Host on the runtime's own endpoints, a foreign Origin). */
  | 'forbidden'
  /** 202 or 303 (a honeypot is answered like a success and dropped) or any 4xx. */
  | 'spam-or-refused'
  /** Anything but a 5xx (a valid GET /health, wrong methods, preflights). */
  | 'no-5xx'
  /** PutEvents: a 4xx, or 200 with every entry failed. */
  | 'entries-refused'
  /**
   * A 4xx, or the connection closed by the HTTP server itself: Node answers headers over its 16 KB
   * limit with 431 and closes at once, so a client still writing may see only the reset.
   */
  | 'refused-or-reset';

export interface BuildContext {
  now: Date;
  /** `http://127.0.0.1:PORT` of the local runtime. */
  runtimeUrl: string;
  secrets: FuzzSecrets;
  /** The emulator key the fuzz's own paging probes use (told apart from the functions' calls). */
  emulatorProbeKey: string;
  /** The local DynamoDB's endpoint and its tables, for the outsider calls. */
  dynamoDbUrl: string;
  tables: { sweepRunsTable: string; budgetTable: string; idempotencyTable: string };
}

export interface PutEntry {
  Source?: string;
  DetailType?: string;
  Detail?: string;
  EventBusName?: string;
  Resources?: string[];
}

export type Wire =
  | {
      target: 'runtime' | 'emulator';
      method: string;
      path: string;
      headers: Record<string, string>;
      body?: Buffer | undefined;
    }
  | { target: 'bus'; entries: PutEntry[] }
  /** A call through the real AWS SDK client, signed with an outsider's own credentials. */
  | { target: 'aws'; call: OutsiderCall };

/** What an outsider on the machine might try against the runtime's other AWS APIs. */
export type OutsiderCall =
  | { service: 'sqs'; action: 'SendMessage'; queueUrl: string; body: string }
  | { service: 'secretsmanager'; action: 'GetSecretValue'; secretId: string }
  | { service: 'dynamodb'; action: 'PutItem'; table: string; item: Record<string, unknown> }
  | { service: 'dynamodb'; action: 'GetItem' | 'DeleteItem'; table: string; key: Record<string, unknown> }
  | { service: 'dynamodb'; action: 'Scan' | 'DeleteTable'; table: string };

export interface FuzzCase {
  category: string;
  /** Short, and never a secret (the fuzz never sends one). */
  description: string;
  expect: Expectation;
  build(context: BuildContext): Wire;
}

type CaseBody = Omit<FuzzCase, 'category' | 'expect'>;
interface Category {
  name: string;
  expect: Expectation;
  arbitrary: fc.Arbitrary<CaseBody>;
}

const KB = 1024;
const JSON_TYPE = { 'content-type': 'application/json' };
const FORM_TYPE = { 'content-type': 'application/x-www-form-urlencoded' };
const kb = (bytes: number) => `${(bytes / KB).toFixed(0)} KB`;

// ---------------------------------------------------------------------------------------------
// Building blocks

/** Text with no `@`, so no field can ever hold a valid email (whatever the mapping picks). */
const noAt = (maxLength = 40) =>
  fc
    .string({
      unit: fc.oneof(fc.constant('x'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })),
      maxLength,
    })
    .map((s) => s.replaceAll('@', '').replaceAll('＠', ''));

/** An address no validator accepts (or none at all). */
const badEmail = fc.oneof(
  fc.constant(undefined),
  noAt(),
  fc.constantFrom(
    'trailing@',
    '@leading.example.com',
    'two@@at.example.com',
    'spa ce@x.example.com',
    'dots@x..example.com',
    'a@b',
    'a@b.c',
    '.dot@x.example.com',
    'a@-x.example.com',
    '<a@x.example.com>',
  ),
  fc.integer({ min: 1_000, max: 40_000 }).map((n) => `a@${'a.'.repeat(n / 2)}`),
  fc.integer({ min: 1_000, max: 40_000 }).map((n) => `${'a'.repeat(n)}@`),
  fc.integer({ min: 1_000, max: 40_000 }).map((n) => `a@${'a'.repeat(n)}!`),
);
const goodEmail = fc.nat(9_999).map((n) => `fuzz-${n}@company-${n % 97}.example.com`);
const emailField = (email: string | undefined): Field[] =>
  email === undefined ? [] : [{ label: 'email', kind: 'email', value: email }];

const LABELS = [
  'name',
  'first_name',
  'last_name',
  'company',
  'phone',
  'job_title',
  'website',
  'budget',
  'message',
  'deal_name',
  'close_date',
  'utm_source',
];
const junkField: fc.Arbitrary<Field> = fc.record({
  label: fc.oneof(
    fc.constantFrom(...LABELS, ...PROTOTYPE_KEYS),
    noAt(20).filter((s) => s.length > 0),
  ),
  kind: fc.constantFrom('text', 'phone', 'url', 'number', 'date'),
  value: fc.oneof(noAt(60), fc.array(noAt(20), { maxLength: 4 })),
});

/** Strings that make backtracking patterns (amounts, domains, phones, dates) explode, 1k–40k long. */
const hostileString = fc
  .record({
    shape: fc.constantFrom(
      'spaces-then-junk',
      'spaces',
      'thousands',
      'digits-then-k',
      'dollar-pairs',
      'label-dashes',
      'label-dots',
      'tabs',
      'dashes',
      'decimal',
      'plus-digits',
      'date-zeros',
    ),
    n: fc.oneof(fc.constantFrom(5_000, 10_000, 20_000, 40_000), fc.integer({ min: 1_000, max: 40_000 })),
  })
  .map(({ shape, n }) => ({ shape, n, text: hostile(shape, n) }));

function hostile(shape: string, n: number): string {
  switch (shape) {
    case 'spaces-then-junk':
      return `1${' '.repeat(n)}xxxxx`;
    case 'spaces':
      return ' '.repeat(n);
    case 'thousands':
      return `1${',000'.repeat(n / 4)}x`;
    case 'digits-then-k':
      return `${'9'.repeat(n)}kx`;
    case 'dollar-pairs':
      return `$${'1 '.repeat(n / 2)}!`;
    case 'label-dashes':
      return `${'a-'.repeat(n / 2)}!`;
    case 'label-dots':
      return `${'a.'.repeat(n / 2)}-`;
    case 'tabs':
      return `${'\t'.repeat(n)}1`;
    case 'dashes':
      return '-'.repeat(n);
    case 'decimal':
      return `${'0'.repeat(n / 2)}.${'0'.repeat(n / 2)}x`;
    case 'plus-digits':
      return `+${'1 '.repeat(n / 2)}x`;
    default:
      return `2026-${'0'.repeat(n)}`;
  }
}

const ORIGINS = [
  'https://evil.example',
  'null',
  'http://127.0.0.1:1',
  'http://localhost',
  'https://attacker.test:3000',
  'file://',
  'http://127.0.0.1.evil.example',
];
/** Hosts that are not loopback, as a web page's request (DNS rebinding) would carry. */
const FOREIGN_HOSTS = [
  'evil.example',
  'evil.example:3000',
  'localhost.evil.example',
  '127.0.0.1.evil.example',
  'attacker.test',
  '169.254.169.254',
  '10.0.0.1:3000',
  'example.com:80',
];
const BAD_UTF8 = [
  [0xc3, 0x28],
  [0xff],
  [0xc0, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xe2, 0x82],
  [0x80],
];

const leadRequest = (
  body: Buffer,
  headers: Record<string, string>,
  path = '/leads',
): ((context: BuildContext) => Wire) => {
  return () => ({ target: 'runtime', method: 'POST', path, headers, body });
};

/** A `/leads` body of these fields, as JSON or as a form (with the honeypot present and empty). */
const asLeadBody = (fields: readonly Field[], form: boolean) =>
  form
    ? { body: formBody(fields, ''), headers: FORM_TYPE }
    : { body: Buffer.from(JSON.stringify(flatObject(fields))), headers: JSON_TYPE };

const signedRequest = (
  provider: SignedProvider,
  body: Buffer,
  mode: SignatureMode,
  webhookId: string,
  headers: Record<string, string> = JSON_TYPE,
): ((context: BuildContext) => Wire) => {
  return (context) => ({
    target: 'runtime',
    method: 'POST',
    path: `/leads/${provider}`,
    headers: {
      ...headers,
      ...signatureHeaders(provider, body, mode, context.secrets, context.now, webhookId),
    },
    body,
  });
};

const webhookIdArb = fc.nat().map((n) => `msg_fuzz_${n.toString(36)}`);

// ---------------------------------------------------------------------------------------------
// The categories

const categories: Category[] = [];
/** `[[[…]]]`, `depth` deep. */
/** A request to the runtime's AWS JSON APIs (EventBridge, Secrets Manager, SQS) by `X-Amz-Target`. */
const awsRequest = (
  target: string,
  body: string,
  headers: Record<string, string> = {},
  host = '127.0.0.1',
): Wire => ({
  target: 'runtime',
  method: 'POST',
  path: '/',
  headers: { host, 'x-amz-target': target, 'content-type': 'application/x-amz-json-1.1', ...headers },
  body: Buffer.from(body),
});

const deepArray = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

const category = (name: string, expect: Expectation, arbitrary: fc.Arbitrary<CaseBody>) =>
  categories.push({ name, expect, arbitrary });

category(
  'health:hostile',
  'no-5xx',
  fc
    .record({
      query: fc.array(fc.tuple(noAt(10), noAt(30)), { maxLength: 5 }),
      header: fc.constantFrom('x-forwarded-for', 'user-agent', 'x-amz-target', 'origin', 'cookie'),
      value: fc.string({
        unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
        maxLength: 4000,
      }),
    })
    .map(({ query, header, value }) => ({
      description: `GET /health with ${query.length} query parameters and a ${value.length}-char ${header}`,
      build: () => ({
        target: 'runtime',
        method: 'GET',
        path: `/health?${new URLSearchParams(query)}`,
        headers: { [header]: value },
      }),
    })),
);

category(
  'route:wrong-method',
  'no-5xx',
  fc
    .record({
      method: fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'),
      path: fc.constantFrom(
        '/leads',
        '/leads/typeform',
        '/leads/tally',
        '/leads/webflow',
        '/leads/standard-webhooks',
        '/leads/nope',
        '/health',
      ),
    })
    .filter(({ method, path }) => !(method === 'GET' && path === '/health'))
    .map(({ method, path }) => ({
      description: `${method} ${path}`,
      build: () => ({ target: 'runtime', method, path, headers: JSON_TYPE, body: Buffer.from('{}') }),
    })),
);

category(
  'route:bad-percent',
  'bad-request',
  fc
    .record({
      segment: fc.constantFrom(
        '%',
        '%zz',
        '%E0%A4%A',
        '%C0%AF',
        '%ED%A0%80',
        '%FF',
        'typeform%',
        '%%',
        '%u0041',
      ),
    })
    .map(({ segment }) => ({
      description: `POST /leads/${segment}`,
      build: () => ({
        target: 'runtime',
        method: 'POST',
        path: `/leads/${segment}`,
        headers: JSON_TYPE,
        body: Buffer.from('{"email":"x"}'),
      }),
    })),
);

category(
  'route:odd-path',
  'refused',
  fc
    .constantFrom(
      '/%',
      '/leads//typeform',
      '/leads/typeform/extra',
      '/leads/../health',
      '/health%',
      '/LEADS',
      `/leads/${'a'.repeat(8000)}`,
      '/leads/%2e%2e',
      '/leads/tally%2fx',
    )
    .map((path) => ({
      description: `POST ${path.slice(0, 40)}`,
      build: () => ({
        target: 'runtime',
        method: 'POST',
        path,
        headers: JSON_TYPE,
        body: Buffer.from('{"email":"x"}'),
      }),
    })),
);

category(
  'route:unknown-provider',
  'refused',
  fc
    .oneof(
      fc.constantFrom(
        'mailchimp',
        'TYPEFORM',
        'form',
        'hubspot',
        ...PROTOTYPE_KEYS,
        'standard_webhooks',
        'tally.',
      ),
      fc
        .stringMatching(/^[a-z0-9_-]{1,40}$/)
        .filter((s) => !(signedProviders as readonly string[]).includes(s)),
    )
    .map((provider) => ({
      description: `POST /leads/${provider}`,
      build: leadRequest(Buffer.from('{"email":"x"}'), JSON_TYPE, `/leads/${encodeURIComponent(provider)}`),
    })),
);

category(
  'leads:invalid-json-lead',
  'refused',
  fc.record({ email: badEmail, fields: fc.array(junkField, { maxLength: 12 }) }).map(({ email, fields }) => ({
    description: `JSON lead, ${fields.length} fields, email ${describeEmail(email)}`,
    build: leadRequest(Buffer.from(JSON.stringify(flatObject([...fields, ...emailField(email)]))), JSON_TYPE),
  })),
);

category(
  'leads:invalid-form-lead',
  'refused',
  fc.record({ email: badEmail, fields: fc.array(junkField, { maxLength: 12 }) }).map(({ email, fields }) => ({
    description: `form lead, ${fields.length} fields, email ${describeEmail(email)}`,
    build: leadRequest(formBody([...fields, ...emailField(email)], ''), FORM_TYPE),
  })),
);

category(
  'leads:prototype-keys',
  'refused',
  fc
    .record({
      form: fc.boolean(),
      keys: fc.subarray([...PROTOTYPE_KEYS], { minLength: 1 }),
      email: badEmail,
      smuggle: goodEmail,
      nested: fc.boolean(),
    })
    .map(({ form, keys, email, smuggle, nested }) => {
      // The only valid address sits inside a prototype-named object: never a field.
      const fields: Field[] = keys.map((key) => ({ label: key, kind: 'text', value: `v-${key}` }));
      const json = JSON.stringify(flatObject([...fields, ...emailField(email)]));
      // Written as text: an object literal's `__proto__` would set a prototype, not a key.
      const smuggled = `"__proto__":{"email":"${smuggle}"},"constructor":{"prototype":{"email":"${smuggle}"}}`;
      const body = form
        ? formBody([...fields, ...emailField(email)], '')
        : Buffer.from(nested ? `{${smuggled}${json === '{}' ? '}' : `,${json.slice(1)}`}` : json);
      return {
        description: `${form ? 'form' : 'JSON'} lead with keys ${keys.join(', ')}, email ${describeEmail(email)}`,
        build: leadRequest(body, form ? FORM_TYPE : JSON_TYPE),
      };
    }),
);

category(
  'leads:honeypot',
  'spam-or-refused',
  fc
    .record({
      variant: fc.constantFrom('form-filled', 'form-missing', 'json-filled'),
      email: goodEmail,
      trap: noAt(20).map((s) => `${s}x`),
    })
    .map(({ variant, email, trap }) => {
      const fields = emailField(email);
      const body =
        variant === 'form-filled'
          ? formBody(fields, trap)
          : variant === 'form-missing'
            ? formBody(fields, undefined)
            : Buffer.from(JSON.stringify({ email, contact_me_by_fax_only: trap }));
      return {
        description: `honeypot ${variant}`,
        build: leadRequest(body, variant === 'json-filled' ? JSON_TYPE : FORM_TYPE),
      };
    }),
);

category(
  'leads:bad-origin',
  'forbidden',
  fc
    .record({
      origin: fc.oneof(
        fc.constantFrom(...ORIGINS),
        fc.webUrl().map((u) => new URL(u).origin),
      ),
      email: goodEmail,
      form: fc.boolean(),
    })
    .map(({ origin, email, form }) => {
      const { body, headers } = asLeadBody(emailField(email), form);
      return {
        description: `valid ${form ? 'form' : 'JSON'} lead from Origin ${origin.slice(0, 40)}`,
        build: leadRequest(body, { ...headers, origin }),
      };
    }),
);

category(
  'leads:media-type',
  'refused',
  fc
    .record({
      type: fc.oneof(
        fc.constantFrom(
          '',
          'text/plain',
          'multipart/form-data; boundary=x',
          'application/xml',
          'text/json',
          'application/jsonx',
          'application/x-www-form-urlencoded-x',
          'application/json-seq',
        ),
        fc.stringMatching(/^[a-z]{1,10}\/[a-z+.-]{1,20}$/),
      ),
      email: badEmail,
    })
    .map(({ type, email }) => ({
      description: `content-type "${type}"`,
      build: leadRequest(
        Buffer.from(JSON.stringify(flatObject(emailField(email)))),
        type ? { 'content-type': type } : {},
      ),
    })),
);

category(
  'leads:over-body-limit',
  'refused',
  fc
    .record({
      size: fc.oneof(
        { weight: 19, arbitrary: fc.integer({ min: 100 * KB + 1, max: 1024 * KB }) },
        { weight: 1, arbitrary: fc.constant(10 * 1024 * KB + 1) },
      ),
      email: goodEmail,
    })
    .map(({ size, email }) => {
      const head = `{"email":"${email}","utm_content":"`;
      return {
        description: `valid lead padded to ${kb(size)}`,
        build: () => ({
          target: 'runtime',
          method: 'POST',
          path: '/leads',
          headers: JSON_TYPE,
          body: Buffer.from(`${head}${'x'.repeat(Math.max(0, size - head.length - 2))}"}`),
        }),
      };
    }),
);

category(
  'leads:invalid-utf8',
  'refused',
  fc
    .record({
      bytes: fc.constantFrom(...BAD_UTF8),
      repeat: fc.integer({ min: 1, max: 2000 }),
      form: fc.boolean(),
    })
    .map(({ bytes, repeat, form }) => {
      const junk = Buffer.from(Array.from({ length: repeat }, () => bytes).flat());
      const body = form
        ? Buffer.concat([Buffer.from('contact_me_by_fax_only=&email=nobody&name='), junk])
        : Buffer.concat([Buffer.from('{"email":"nobody","name":"'), junk, Buffer.from('"}')]);
      return {
        description: `${form ? 'form' : 'JSON'} lead with ${junk.length} invalid UTF-8 bytes`,
        build: leadRequest(body, form ? FORM_TYPE : JSON_TYPE),
      };
    }),
);

const deepJson = (depth: number, shape: 'object' | 'array', closed: boolean) => {
  const [open, close] = shape === 'object' ? ['{"a":', '}'] : ['[', ']'];
  return Buffer.from(`${open.repeat(depth)}1${closed ? close.repeat(depth) : ''}`);
};
category(
  'leads:deep-json',
  'refused',
  fc
    .record({
      depth: fc.integer({ min: 1_000, max: 16_000 }),
      shape: fc.constantFrom('object' as const, 'array' as const),
      closed: fc.boolean(),
    })
    .map(({ depth, shape, closed }) => ({
      description: `JSON ${shape}s nested ${depth} deep${closed ? '' : ', unterminated'}`,
      build: leadRequest(deepJson(depth, shape, closed), JSON_TYPE),
    })),
);

category(
  'leads:huge-headers',
  'refused-or-reset',
  fc
    .record({
      variant: fc.constantFrom('one-huge', 'many', 'big-origin', 'big-type', 'big-agent'),
      size: fc.integer({ min: 4 * KB, max: 64 * KB }),
    })
    .map(({ variant, size }) => {
      const filler = 'h'.repeat(size);
      const headers: Record<string, string> = { ...JSON_TYPE };
      if (variant === 'one-huge') headers['x-fuzz'] = filler;
      if (variant === 'many') for (let i = 0; i < size / 64; i++) headers[`x-fuzz-${i}`] = 'h'.repeat(50);
      if (variant === 'big-origin') headers.origin = `https://${filler}.example`;
      if (variant === 'big-type') headers['content-type'] = `application/json; ${filler}`;
      if (variant === 'big-agent') headers['user-agent'] = filler;
      return {
        description: `${variant} headers, ${kb(size)}`,
        build: leadRequest(Buffer.from('{"email":"nobody"}'), headers),
      };
    }),
);

category(
  'leads:too-many-fields',
  'refused',
  fc
    .record({ count: fc.integer({ min: 2_000, max: 10_000 }), email: goodEmail, form: fc.boolean() })
    .map(({ count, email, form }) => {
      const fields: Field[] = Array.from({ length: count }, (_, i) => ({
        label: `f${i}`,
        kind: 'text',
        value: 'v',
      }));
      const { body, headers } = asLeadBody([...emailField(email), ...fields], form);
      return {
        description: `valid email and ${count} more fields (${form ? 'form' : 'JSON'})`,
        build: leadRequest(body, headers),
      };
    }),
);

category(
  'leads:oversize-email',
  'refused',
  fc
    .record({
      n: fc.oneof(fc.constantFrom(243, 1_000, 10_000, 90_000), fc.integer({ min: 243, max: 95_000 })),
      form: fc.boolean(),
    })
    .map(({ n, form }) => {
      const email = `${'a'.repeat(n)}@company.example.com`;
      const { body, headers } = asLeadBody(emailField(email), form);
      return {
        description: `email of ${email.length} characters (${form ? 'form' : 'JSON'})`,
        build: leadRequest(body, headers),
      };
    }),
);

category(
  'leads:oversize-field',
  'refused',
  fc
    .record({
      label: fc.constantFrom(
        'first_name',
        'last_name',
        'name',
        'phone',
        'job_title',
        'company',
        'deal_name',
        'message',
      ),
      n: fc.integer({ min: 20_000, max: 90_000 }),
      email: goodEmail,
      form: fc.boolean(),
    })
    .map(({ label, n, email, form }) => {
      const fields: Field[] = [...emailField(email), { label, kind: 'text', value: 'z'.repeat(n) }];
      const { body, headers } = asLeadBody(fields, form);
      return { description: `valid email, ${label} of ${n} characters`, build: leadRequest(body, headers) };
    }),
);

category(
  'leads:hostile-amount',
  'refused',
  fc
    .record({ hostile: hostileString, email: badEmail, form: fc.boolean() })
    .map(({ hostile: h, email, form }) => {
      const fields: Field[] = [...emailField(email), { label: 'budget', kind: 'text', value: h.text }];
      const { body, headers } = asLeadBody(fields, form);
      return {
        description: `budget "${h.shape}" × ${h.n}, email ${describeEmail(email)}`,
        build: leadRequest(body, headers),
      };
    }),
);

category(
  'leads:hostile-field',
  'refused',
  fc
    .record({
      hostile: hostileString,
      label: fc.constantFrom(
        'website',
        'phone',
        'close_date',
        'name',
        'company',
        'first_name',
        'deal_name',
        'email',
      ),
      form: fc.boolean(),
    })
    .map(({ hostile: h, label, form }) => {
      // As the email itself, the hostile text has no `@`; elsewhere the email is missing.
      const fields: Field[] = [{ label, kind: label === 'website' ? 'url' : 'text', value: h.text }];
      const { body, headers } = asLeadBody(fields, form);
      return {
        description: `${label} "${h.shape}" × ${h.n}, no valid email`,
        build: leadRequest(body, headers),
      };
    }),
);

category(
  'leads:control-bytes',
  'refused',
  fc
    .record({ n: fc.oneof(fc.constant(95_000), fc.integer({ min: 45_000, max: 99_000 })), email: goodEmail })
    .map(({ n, email }) => {
      // Raw control bytes in a form value: a 95 KB body, about 570 KB once JSON-escaped in the event.
      const controls = Buffer.alloc(n, 0x01);
      for (let i = 0; i < n; i++) controls[i] = [0x01, 0x02, 0x07, 0x0b, 0x0e, 0x1f][i % 6] ?? 0x01;
      const body = Buffer.concat([
        Buffer.from(`email=${encodeURIComponent(email)}&contact_me_by_fax_only=&utm_content=`),
        controls,
      ]);
      return { description: `valid form lead with ${n} control bytes`, build: leadRequest(body, FORM_TYPE) };
    }),
);

// Signed providers: every way a signature can be wrong, and right signatures over hostile bodies.
for (const provider of signedProviders) {
  const validBody = fc.record({ email: goodEmail, id: webhookIdArb }).map(({ email, id }) => ({
    id,
    body: Buffer.from(JSON.stringify(providerPayload(provider, emailField(email), id))),
  }));

  category(
    `${provider}:no-signature`,
    'refused',
    fc.record({ valid: validBody, partial: fc.boolean() }).map(({ valid, partial }) => ({
      description: `valid payload, ${partial ? 'incomplete' : 'no'} signature headers`,
      build: signedRequest(provider, valid.body, { kind: partial ? 'partial' : 'none' }, valid.id),
    })),
  );

  category(
    `${provider}:malformed-signature`,
    'refused',
    fc
      .record({
        valid: validBody,
        value: fc.oneof(
          fc.string({
            unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
            maxLength: 120,
          }),
          fc.constantFrom(
            'sha1=abc',
            'sha256=',
            'sha256=!!!!',
            'v1,',
            'v1,not-base64',
            ' ',
            `v1,${'A'.repeat(10_000)}`,
            'a'.repeat(64),
            'sha256=AAAA,sha256=BBBB',
          ),
        ),
      })
      .map(({ valid, value }) => ({
        description: `valid payload, malformed signature (${value.length} chars)`,
        build: signedRequest(provider, valid.body, { kind: 'malformed', value }, valid.id),
      })),
  );

  category(
    `${provider}:wrong-signature`,
    'refused',
    fc
      .record({
        valid: validBody,
        mode: fc.oneof(
          fc
            .stringMatching(/^[a-z0-9]{8,40}$/)
            .map((secret): SignatureMode => ({ kind: 'wrong-secret', secret })),
          fc
            .constantFrom(...signedProviders.filter((p) => p !== provider))
            .map((p): SignatureMode => ({ kind: 'other-provider', provider: p })),
        ),
      })
      .map(({ valid, mode }) => ({
        description: `valid payload signed with ${mode.kind === 'other-provider' ? `${mode.provider}'s secret` : 'a wrong secret'}`,
        build: signedRequest(provider, valid.body, mode, valid.id),
      })),
  );

  if (provider === 'webflow' || provider === 'standard-webhooks') {
    category(
      `${provider}:stale-timestamp`,
      'refused',
      fc
        .record({
          valid: validBody,
          mode: fc.oneof(
            fc
              .integer({ min: 5 * 60_000 + 30_000, max: 10 * 365 * 86_400_000 })
              .map((ms): SignatureMode => ({ kind: 'shifted', offsetMs: -ms })),
            fc
              .integer({ min: 5 * 60_000 + 30_000, max: 10 * 365 * 86_400_000 })
              .map((ms): SignatureMode => ({ kind: 'shifted', offsetMs: ms })),
            fc.constant<SignatureMode>({ kind: 'seconds-not-ms' }),
          ),
        })
        .filter(({ mode }) => provider === 'webflow' || mode.kind !== 'seconds-not-ms')
        .map(({ valid, mode }) => ({
          description: `correctly signed, ${mode.kind === 'shifted' ? `${Math.round(mode.offsetMs / 60_000)} min off` : 'timestamp in seconds'}`,
          build: signedRequest(provider, valid.body, mode, valid.id),
        })),
    );
  }

  category(
    `${provider}:signed-hostile-body`,
    'refused',
    fc
      .record({
        kind: fc.constantFrom(
          'not-json',
          'json-array',
          'wrong-shape',
          'no-valid-email',
          'prototype-keys',
          'deep-json',
          'invalid-utf8',
          'oversize-email',
          'hostile-amount',
          'too-many-fields',
          'oversize-field',
          'over-body-limit',
          'wrong-media-type',
        ),
        email: badEmail,
        good: goodEmail,
        hostile: hostileString,
        junk: fc.array(junkField, { maxLength: 8 }),
        json: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v).replaceAll('@', '')),
        n: fc.integer({ min: 2_000, max: 10_000 }),
        id: webhookIdArb,
      })
      .map(({ kind, email, good, hostile: h, junk, json, n, id }) => {
        const payload = (fields: Field[]) =>
          Buffer.from(JSON.stringify(providerPayload(provider, fields, id)));
        let body: Buffer;
        let headers: Record<string, string> = JSON_TYPE;
        switch (kind) {
          case 'not-json':
            body = Buffer.from(`{"email": "${good}",`);
            break;
          case 'json-array':
            body = Buffer.from(JSON.stringify([providerPayload(provider, emailField(good), id)]));
            break;
          case 'wrong-shape':
            body = Buffer.from(json);
            break;
          case 'no-valid-email':
            body = payload([...junk, ...emailField(email)]);
            break;
          case 'prototype-keys':
            body = payload([
              ...PROTOTYPE_KEYS.map((k): Field => ({ label: k, kind: 'text', value: k })),
              ...emailField(email),
            ]);
            break;
          case 'deep-json':
            body = deepJson(Math.min(n, 16_000), 'object', true);
            break;
          case 'invalid-utf8': {
            // Invalid bytes inside a string value, the JSON around them intact.
            const text = payload([...emailField(email), { label: 'name', kind: 'text', value: 'UTF8MARK' }]);
            const at = text.indexOf('UTF8MARK');
            body = Buffer.concat([
              text.subarray(0, at),
              Buffer.from([0xff, 0xc0, 0xaf, 0xed, 0xa0, 0x80]),
              text.subarray(at + 8),
            ]);
            break;
          }
          case 'oversize-email':
            body = payload(emailField(`${'a'.repeat(n * 9)}@company.example.com`));
            break;
          case 'hostile-amount':
            body = payload([...emailField(email), { label: 'budget', kind: 'text', value: h.text }]);
            break;
          case 'too-many-fields':
            body = payload([
              ...emailField(good),
              ...Array.from({ length: n }, (_, i): Field => ({ label: `f${i}`, kind: 'text', value: 'v' })),
            ]);
            break;
          case 'oversize-field':
            body = payload([
              ...emailField(good),
              { label: 'first_name', kind: 'text', value: 'z'.repeat(n * 5) },
            ]);
            break;
          case 'over-body-limit':
            body = payload([
              ...emailField(good),
              { label: 'utm_content', kind: 'text', value: 'p'.repeat(100 * KB + n) },
            ]);
            break;
          default:
            body = payload(emailField(good));
            headers = { 'content-type': 'text/plain' };
        }
        return {
          description: `correctly signed ${kind} body (${kb(body.length)})`,
          build: signedRequest(provider, body, { kind: 'valid' }, id, headers),
        };
      }),
  );
}

category(
  'tally:option-bomb',
  'refused',
  fc
    .record({
      size: fc.oneof(fc.constantFrom(48 * KB, 93 * KB), fc.integer({ min: 8 * KB, max: 99 * KB })),
      email: fc.option(goodEmail),
      id: webhookIdArb,
    })
    .map(({ size, email, id }) => {
      const body = tallyOptionBomb(size, email ?? undefined, id);
      return {
        description: `correctly signed option-id bomb, ${kb(body.length)}${email ? ', valid email' : ''}`,
        build: signedRequest('tally', body, { kind: 'valid' }, id),
      };
    }),
);

// The bus: forged events in the project's name, and entries EventBridge refuses.
const forgedDetail = (detailType: string, example: unknown, hostile: boolean): unknown => {
  if (detailType === 'Stale Sweep Continued')
    return {
      ...(example as object),
      dryRun: false,
      referenceTime: '2099-01-01T00:00:00.000Z',
      totals: { scanned: 0, stale: 0, closed: -100_000, wouldClose: [], skipped: {}, errors: 0 },
    };
  if (detailType === 'Lead Received' && hostile)
    return { ...(example as object), opportunity: { name: 'Forged lead, no signature', amount: 999_999 } };
  return example;
};
category(
  'bus:forged-project-source',
  'entries-refused',
  fc
    .record({
      events: fc.array(fc.constantFrom(...allEvents), { minLength: 1, maxLength: 3 }),
      hostile: fc.boolean(),
    })
    .map(({ events, hostile }) => ({
      description: `PutEvents as ${EVENT_SOURCE}: ${events.map((e) => e.detailType).join(', ')}`,
      build: () => ({
        target: 'bus',
        entries: events.map((e) => ({
          Source: EVENT_SOURCE,
          DetailType: e.detailType,
          Detail: JSON.stringify(forgedDetail(e.detailType, e.example, hostile)),
        })),
      }),
    })),
);

/** An outsider's own source with a detail type no rule matches: refused only for being malformed. */
const OUTSIDER_SOURCE = 'fuzz.outsider';
const PROBE_TYPE = 'Fuzz Probe';
category(
  'bus:malformed-entries',
  'entries-refused',
  fc
    .record({
      kind: fc.constantFrom(
        'deep-detail',
        'over-256-kb',
        'not-json',
        'json-array',
        'json-string',
        'eleven-entries',
        'no-source',
        'empty-detail-type',
      ),
      depth: fc.integer({ min: 5_000, max: 20_000 }),
      size: fc.integer({ min: 257 * KB, max: 400 * KB }),
    })
    .map(({ kind, depth, size }) => {
      const entry = (detail: string): PutEntry => ({
        Source: OUTSIDER_SOURCE,
        DetailType: PROBE_TYPE,
        Detail: detail,
      });
      const build = (): PutEntry[] => {
        switch (kind) {
          case 'deep-detail':
            return [entry(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`)];
          case 'over-256-kb':
            return [entry(JSON.stringify({ pad: 'p'.repeat(size) }))];
          case 'not-json':
            return [entry('{"a":')];
          case 'json-array':
            return [entry('[1,2]')];
          case 'json-string':
            return [entry('"text"')];
          case 'eleven-entries':
            // Eleven well-formed entries: over PutEvents' limit of ten, so the whole request is refused.
            return Array.from({ length: 11 }, () => entry('{}'));
          case 'no-source':
            return [{ DetailType: PROBE_TYPE, Detail: '{}' }];
          default:
            return [{ Source: OUTSIDER_SOURCE, DetailType: '', Detail: '{}' }];
        }
      };
      return {
        description: `PutEvents ${kind}${kind === 'deep-detail' ? ` (${depth})` : kind === 'over-256-kb' ? ` (${kb(size)})` : ''}`,
        build: () => ({ target: 'bus', entries: build() }),
      };
    }),
);

// The runtime's own endpoints, reached with a Host that is not loopback (a web page, DNS rebinding).
category(
  'aws:foreign-host',
  'forbidden',
  fc
    .record({
      host: fc.constantFrom(...FOREIGN_HOSTS),
      call: fc.constantFrom(
        'get-api-key',
        'get-signing-secrets',
        'put-events',
        'sqs-send',
        'sqs-get-url',
        'sqs-move',
      ),
    })
    .map(({ host, call }) => ({
      description: `${call} with Host ${host}`,
      build: (context) => {
        const dlqUrl = `${context.runtimeUrl}/000000000000/lead-sync-lead-received-dlq`;
        const [target, input] = (
          {
            'get-api-key': [
              'secretsmanager.GetSecretValue',
              { SecretId: 'salescaling-automation/local/salescaling-api-key' },
            ],
            'get-signing-secrets': [
              'secretsmanager.GetSecretValue',
              { SecretId: 'salescaling-automation/local/webhook-signing-secrets' },
            ],
            'put-events': [
              'AWSEvents.PutEvents',
              {
                Entries: [
                  {
                    Source: OUTSIDER_SOURCE,
                    DetailType: PROBE_TYPE,
                    Detail: '{}',
                    EventBusName: 'salescaling-automation-local',
                  },
                ],
              },
            ],
            'sqs-send': ['AmazonSQS.SendMessage', { QueueUrl: dlqUrl, MessageBody: '{"fuzz":true}' }],
            'sqs-get-url': ['AmazonSQS.GetQueueUrl', { QueueName: 'lead-sync-lead-received-dlq' }],
            'sqs-move': [
              'AmazonSQS.StartMessageMoveTask',
              { SourceArn: 'arn:aws:sqs:us-east-1:000000000000:lead-sync-lead-received-dlq' },
            ],
          } as const
        )[call];
        return awsRequest(target, JSON.stringify(input), {}, host);
      },
    })),
);

category(
  'local:foreign-host',
  'forbidden',
  fc
    .record({
      host: fc.constantFrom(...FOREIGN_HOSTS),
      route: fc.constantFrom(
        'GET /_local/events',
        'GET /_local/invocations',
        'GET /_local/dead-letters',
        'GET /_local/functions',
        'GET /_local/health',
        'DELETE /_local/dead-letters',
        'POST /_local/schedules/stale-deals',
      ),
    })
    .map(({ host, route }) => {
      const [method = 'GET', path = '/'] = route.split(' ');
      return {
        description: `${route} with Host ${host}`,
        build: () => ({
          target: 'runtime',
          method,
          path,
          headers: { host, 'content-type': 'application/json' },
          body: method === 'POST' ? Buffer.from('{}') : undefined,
        }),
      };
    }),
);

category(
  'local:malformed',
  'refused',
  fc
    .oneof(
      fc
        .constantFrom('%', '%zz', '%E0%A4%A', '%C0%AF')
        .map((segment) => ({ path: `/_local/schedules/${segment}`, body: '' })),
      fc
        .constantFrom('[]', 'x', '"text"', '{', '1')
        .map((body) => ({ path: '/_local/schedules/stale-deals', body })),
      // Deeper than any real input: a worker message (structured clone) of it overflowed the stack.
      fc
        .integer({ min: 1_000, max: 100_000 })
        .map((depth) => ({ path: '/_local/schedules/stale-deals', body: `{"x":${deepArray(depth)}}` })),
      fc
        .stringMatching(/^[a-z-]{1,30}$/)
        .filter((s) => s !== 'stale-deals')
        .map((name) => ({ path: `/_local/schedules/${name}`, body: '' })),
    )
    .map(({ path, body }) => ({
      description: `POST ${path}${body ? ` with body ${body.length > 40 ? `of ${body.length} chars` : body}` : ''}`,
      build: () => ({
        target: 'runtime',
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json' },
        body: Buffer.from(body),
      }),
    })),
);

const BAD_PAGING = [
  '9007199254740991',
  '9007199254740992',
  '99999999999999999999',
  '-1',
  '0',
  '-0',
  'NaN',
  'Infinity',
  '1e309',
  '1.5',
  '',
  'abc',
  '%00',
];
category(
  'emulator:bad-paging',
  'bad-request',
  fc
    .record({
      list: fc.constantFrom('opportunities', 'contacts', 'companies'),
      page: fc.constantFrom(...BAD_PAGING, undefined),
      limit: fc.constantFrom(...BAD_PAGING, undefined),
    })
    .filter(({ page, limit }) => page !== undefined || limit !== undefined)
    .map(({ list, page, limit }) => {
      const query = [page === undefined ? '' : `page=${page}`, limit === undefined ? '' : `limit=${limit}`]
        .filter(Boolean)
        .join('&');
      return {
        description: `GET /api/v1/${list}?${query}`,
        build: (context) => ({
          target: 'emulator',
          method: 'GET',
          path: `/api/v1/${list}?${query}`,
          headers: { 'x-api-key': context.emulatorProbeKey },
        }),
      };
    }),
);

function describeEmail(email: string | undefined): string {
  if (email === undefined) return 'missing';
  return email.length > 30 ? `of ${email.length} chars` : JSON.stringify(email);
}

/**
 * The neighbours of a forged PutEvents: a forged event written straight into a queue (then
 * redriven), the local secrets read, and a sweep's run record forged in the local DynamoDB — each
 * through the real SDK client, signed with an outsider's own credentials. All refused (4xx).
 */
const RULE_QUEUES = [
  'lead-sync-lead-received',
  'stale-deals-stale-sweep-continued',
  'integration-commands-commands',
];
category(
  'aws:outsider-calls',
  'refused',
  fc
    .record({
      kind: fc.constantFrom(
        'sqs-send',
        'get-secret',
        'ddb-put-run',
        'ddb-put-budget',
        'ddb-put-idempotency',
        'ddb-get',
        'ddb-delete',
        'ddb-scan',
        'ddb-drop',
      ),
      queue: fc.constantFrom(...RULE_QUEUES.flatMap((q) => [q, `${q}-dlq`])),
      detailType: fc.constantFrom(...allEvents.map((e) => e.detailType)),
      secret: fc.constantFrom(
        'salescaling-automation/local/salescaling-api-key',
        'salescaling-automation/local/webhook-signing-secrets',
      ),
      runId: fc.uuid(),
      table: fc.constantFrom('sweepRunsTable', 'budgetTable', 'idempotencyTable'),
    })
    .map(({ kind, queue, detailType, secret, runId, table: tableName }) => ({
      description:
        kind === 'sqs-send'
          ? `SendMessage of a forged ${detailType} to ${queue}`
          : kind === 'get-secret'
            ? `GetSecretValue ${secret}`
            : kind === 'ddb-put-run'
              ? 'DynamoDB put-run on the sweep runs'
              : kind === 'ddb-put-budget'
                ? 'DynamoDB put of a budget paused until 2099'
                : kind === 'ddb-put-idempotency'
                  ? 'DynamoDB put of a completed idempotency record'
                  : `DynamoDB ${kind.slice(4)} on the ${tableName}`,
      build: (context: BuildContext): Wire => {
        const key = (name: typeof tableName) =>
          name === 'sweepRunsTable' ? { runId } : { id: name === 'budgetTable' ? 'salescaling' : runId };
        const table = context.tables[tableName];
        const call = ((): OutsiderCall => {
          switch (kind) {
            case 'sqs-send':
              return {
                service: 'sqs',
                action: 'SendMessage',
                queueUrl: `${context.runtimeUrl}/000000000000/${queue}`,
                body: JSON.stringify({
                  version: '0',
                  id: runId,
                  'detail-type': detailType,
                  source: EVENT_SOURCE,
                  account: '000000000000',
                  time: context.now.toISOString(),
                  region: 'us-east-1',
                  resources: [],
                  detail: { schemaVersion: 2, runId, step: 1, submissionId: runId },
                }),
              };
            case 'get-secret':
              return { service: 'secretsmanager', action: 'GetSecretValue', secretId: secret };
            case 'ddb-put-run':
              return {
                service: 'dynamodb',
                action: 'PutItem',
                table: context.tables.sweepRunsTable,
                item: {
                  runId,
                  status: 'running',
                  dryRun: false,
                  referenceTime: '2099-01-01T00:00:00.000Z',
                  step: 1,
                },
              };
            case 'ddb-put-budget':
              // The shared budget's one item, paused for good: every function would stop calling.
              return {
                service: 'dynamodb',
                action: 'PutItem',
                table: context.tables.budgetTable,
                item: {
                  id: 'salescaling',
                  nextAt: 4_070_908_800_000,
                  pausedUntil: 4_070_908_800_000,
                  rate: 0,
                },
              };
            case 'ddb-put-idempotency':
              // A lead marked done before it arrives: lead sync would skip it.
              return {
                service: 'dynamodb',
                action: 'PutItem',
                table: context.tables.idempotencyTable,
                item: { id: `lead-sync#${runId}`, status: 'COMPLETED', expiration: 4_070_908_800 },
              };
            case 'ddb-get':
              return { service: 'dynamodb', action: 'GetItem', table, key: key(tableName) };
            case 'ddb-delete':
              return { service: 'dynamodb', action: 'DeleteItem', table, key: key(tableName) };
            case 'ddb-scan':
              return { service: 'dynamodb', action: 'Scan', table };
            default:
              return { service: 'dynamodb', action: 'DeleteTable', table };
          }
        })();
        return { target: 'aws', call };
      },
    })),
);

/** The runtime's AWS APIs on loopback, unsigned or with a signature that is not one. */
category(
  'aws:bad-signature',
  'refused',
  fc
    .record({
      target: fc.constantFrom(
        'AWSEvents.PutEvents',
        'secretsmanager.GetSecretValue',
        'AmazonSQS.SendMessage',
        'AmazonSQS.StartMessageMoveTask',
      ),
      authorization: fc.oneof(
        fc.constant(undefined),
        fc.constant(
          'AWS4-HMAC-SHA256 Credential=AKIAFUZZ/20991231/us-east-1/events/aws4_request, SignedHeaders=host, Signature=00',
        ),
        fc.string({ maxLength: 200 }),
        fc.string({ minLength: 20_000, maxLength: 60_000, unit: fc.constantFrom('A', '=', ',', ' ', '/') }),
      ),
    })
    .map(({ target, authorization }) => ({
      description: `${target} ${authorization === undefined ? 'unsigned' : `with an Authorization of ${authorization.length} chars`}`,
      build: (): Wire =>
        awsRequest(
          target,
          JSON.stringify({
            Entries: [
              {
                Source: EVENT_SOURCE,
                DetailType: 'Lead Received',
                Detail: '{}',
                EventBusName: 'salescaling-automation-local',
              },
            ],
            SecretId: 'salescaling-automation/local/webhook-signing-secrets',
            QueueUrl: 'http://127.0.0.1/000000000000/lead-sync-lead-received-dlq',
            MessageBody: '{}',
            SourceArn: 'arn:aws:sqs:us-east-1:000000000000:lead-sync-lead-received-dlq',
          }),
          authorization === undefined ? {} : { authorization },
        ),
    })),
);

/**
 * The runtime's AWS APIs, as an outside caller, with a parameter nested 1,000–100,000 deep: a
 * `String()` of it (a queue URL or ARN quoted in an answer) overflowed the stack.
 */
category(
  'aws:deep-json',
  'refused',
  fc
    .record({
      target: fc.constantFrom(
        'AWSEvents.PutEvents',
        'secretsmanager.GetSecretValue',
        'AmazonSQS.SendMessage',
        'AmazonSQS.GetQueueUrl',
        'AmazonSQS.GetQueueAttributes',
        'AmazonSQS.StartMessageMoveTask',
        'AmazonSQS.ListMessageMoveTasks',
        'AmazonSQS.ChangeMessageVisibility',
      ),
      parameter: fc.constantFrom('Entries', 'SecretId', 'QueueName', 'QueueUrl', 'SourceArn', 'MessageBody'),
      depth: fc.integer({ min: 1_000, max: 100_000 }),
    })
    .map(({ target, parameter, depth }) => ({
      description: `${target} with ${parameter} nested ${depth} deep`,
      build: (): Wire =>
        awsRequest(target, `{"${parameter}":${deepArray(depth)}}`, {
          authorization: `AWS4-HMAC-SHA256 Credential=AKIAFUZZ/20991231/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=${'0'.repeat(64)}`,
        }),
    })),
);

export const categoryNames: readonly string[] = categories.map((c) => c.name);

/**
 * `count` cases, the same for the same seed: each category's own sample (seeded from the run's
 * seed and the category's position), dealt round-robin so every category is present however small
 * the run.
 */
export function generateCases(count: number, seed: number): FuzzCase[] {
  const perCategory = Math.ceil(count / categories.length);
  const samples = categories.map((c, index) =>
    fc
      .sample(c.arbitrary, { seed: (seed * 1_000 + index) | 0, numRuns: perCategory })
      .map((body): FuzzCase => ({ ...body, category: c.name, expect: c.expect })),
  );
  const cases: FuzzCase[] = [];
  for (let round = 0; cases.length < count; round++) {
    for (const sample of samples) {
      const item = sample[round];
      if (item && cases.length < count) cases.push(item);
    }
  }
  return cases;
}
