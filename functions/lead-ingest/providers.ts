import * as z from 'zod';
import { RequestError } from '#shared/errors.ts';
import { LEAD_LIMITS, type LeadProvider, type RawFieldValue } from '#shared/leads/lead.ts';
import { clipText, fieldIssues } from '#shared/salescaling/schemas.ts';

/**
 * Each provider's payload, read into one shape: the submission's ids and time, and its fields as
 * entries (key, label, kind, provider ref, value) that `mapping.ts` turns into a Lead.
 * A payload that is not the provider's documented shape is a 400 naming the offending fields.
 */
export type FieldKind = 'email' | 'phone' | 'url' | 'number' | 'date' | 'text' | 'choice' | 'boolean';

export interface FieldEntry {
  /** The provider's stable key (Typeform field id, Tally key, Webflow label, form field name). */
  key: string;
  label?: string | undefined;
  /** Typeform `field.ref`. */
  ref?: string | undefined;
  kind?: FieldKind | undefined;
  value: RawFieldValue;
}

export interface Submission {
  provider: LeadProvider;
  submissionId?: string | undefined;
  submittedAt?: string | undefined;
  formId?: string | undefined;
  formName?: string | undefined;
  entries: FieldEntry[];
}

/**
 * The entries of one submission, bounded as they are built: at most `LEAD_LIMITS.fields` of them,
 * each key, label and value within its limit, and all of their text together within
 * `LEAD_LIMITS.expandedChars`. A provider that expands ids into texts (Tally's option ids) makes
 * its values through `items`, item by item, so a body repeating a long option's id stops at the
 * first item over a limit, never building more than the limits allow. Over a limit is a 413
 * naming the field.
 */
class EntryList {
  readonly entries: FieldEntry[] = [];
  #chars = 0;

  add(entry: FieldEntry): void {
    const name = fieldName(entry.label ?? entry.key);
    if (this.entries.length >= LEAD_LIMITS.fields) {
      throw tooLarge('(body)', `more than ${LEAD_LIMITS.fields} fields`);
    }
    for (const text of [entry.key, entry.label ?? '', entry.ref ?? '']) {
      if (text.length > LEAD_LIMITS.fieldKey) {
        throw tooLarge(name, `a field name is at most ${LEAD_LIMITS.fieldKey} characters`);
      }
      this.#charge(name, text.length);
    }
    const { value } = entry;
    if (typeof value === 'string') {
      if (value.length > LEAD_LIMITS.fieldValue)
        throw tooLarge(name, `at most ${LEAD_LIMITS.fieldValue} characters`);
      this.#charge(name, value.length);
    }
    // Arrays were made by `items`, which checked and charged them.
    this.entries.push(entry);
  }

  /** A list value, checked for length, then item by item as each is produced (and charged). */
  items(label: string, count: number, item: (index: number) => string): string[] {
    const name = fieldName(label);
    if (count > LEAD_LIMITS.arrayItems) throw tooLarge(name, `at most ${LEAD_LIMITS.arrayItems} values`);
    const items: string[] = [];
    for (let i = 0; i < count; i++) {
      const text = item(i);
      if (text.length > LEAD_LIMITS.arrayItem) {
        throw tooLarge(name, `each value at most ${LEAD_LIMITS.arrayItem} characters`);
      }
      this.#charge(name, text.length);
      items.push(text);
    }
    return items;
  }

  #charge(name: string, chars: number): void {
    this.#chars += chars;
    if (this.#chars > LEAD_LIMITS.expandedChars) {
      throw tooLarge(name, `the fields together are at most ${LEAD_LIMITS.expandedChars} characters`);
    }
  }
}

const tooLarge = (field: string, message: string) =>
  new RequestError(413, `Too large: ${field}: ${message}`, { fields: [{ field, message }] });
/** A name quoted back to the sender, cut short: an answer never echoes a whole hostile input. */
const clip = (text: string) => clipText(text, 101);
const fieldName = (label: string) => `fields.${clip(label)}`;
/**
 * A list item as text. Only scalars: `String()` of a nested array recurses through `join`, and a
 * body nested 40,000 deep would overflow the stack (a 500) before any limit could answer.
 */
const scalarText = (item: unknown): string =>
  typeof item === 'string' || typeof item === 'number' || typeof item === 'boolean' ? String(item) : '';
const own = <T>(table: Record<string, T>, key: string): T | undefined =>
  Object.hasOwn(table, key) ? table[key] : undefined;
const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function parse<S extends z.ZodType>(schema: S, body: unknown, what: string): z.output<S> {
  const result = schema.safeParse(body);
  if (!result.success)
    throw new RequestError(400, `Not a ${what} payload`, { fields: fieldIssues(result.error) });
  return result.data;
}

// ---------------------------------------------------------------------------------------------
// Generic JSON, HTML forms and Standard Webhooks senders: a flat object of fields.

const flatValue = z.union([
  z.string(),
  z.number(),
  z.boolean(),
  z.null(),
  z.array(z.union([z.string(), z.number()])),
]);

export function fromFlatObject(
  provider: 'form' | 'standard-webhooks',
  body: unknown,
  ids: { submissionId?: string | undefined } = {},
): Submission {
  // Not z.record: it would drop a `__proto__` field (see shared/leads/lead.ts). Own keys only.
  if (!isRecord(body)) {
    throw new RequestError(400, `Not a ${provider === 'form' ? 'lead' : 'Standard Webhooks lead'} payload`, {
      fields: [{ field: '(body)', message: 'must be a JSON object' }],
    });
  }
  const field = (object: Record<string, unknown>, key: string) =>
    Object.hasOwn(object, key) ? object[key] : undefined;
  // Senders often nest the fields under `data` or `lead`; read those when present.
  const inner = [field(body, 'data'), field(body, 'lead')].find(isRecord);
  const list = new EntryList();
  for (const [key, value] of Object.entries(inner ?? body)) {
    const parsed = flatValue.safeParse(value);
    if (!parsed.success) continue; // nested objects are not fields
    const data = parsed.data;
    list.add({
      key,
      label: key,
      value: Array.isArray(data) ? list.items(key, data.length, (i) => String(data[i])) : data,
    });
  }
  const stringOf = (key: string) => {
    const value = field(body, key);
    return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
  };
  return {
    provider,
    submissionId: ids.submissionId ?? stringOf('submissionId') ?? stringOf('submission_id'),
    submittedAt: stringOf('submittedAt') ?? stringOf('submitted_at'),
    formId: stringOf('formId') ?? stringOf('form_id'),
    formName: stringOf('formName') ?? stringOf('form_name'),
    entries: list.entries,
  };
}

// ---------------------------------------------------------------------------------------------
// Typeform: form_response.answers[], labels from form_response.definition.fields[].

const typeformAnswer = z.looseObject({
  type: z.string(),
  field: z.looseObject({ id: z.string(), type: z.string().optional(), ref: z.string().optional() }),
});

const typeformSchema = z.looseObject({
  event_id: z.string().min(1),
  event_type: z.string().optional(),
  form_response: z.looseObject({
    form_id: z.string().optional(),
    token: z.string().optional(),
    submitted_at: z.string().optional(),
    hidden: z.unknown().optional(),
    definition: z
      .looseObject({
        title: z.string().optional(),
        fields: z
          .array(z.looseObject({ id: z.string(), title: z.string().optional(), type: z.string().optional() }))
          .optional(),
      })
      .optional(),
    answers: z.array(typeformAnswer),
  }),
});

const TYPEFORM_KINDS: Record<string, FieldKind> = {
  email: 'email',
  phone_number: 'phone',
  url: 'url',
  website: 'url',
  number: 'number',
  date: 'date',
  boolean: 'boolean',
  choice: 'choice',
  choices: 'choice',
};

export function fromTypeform(body: unknown): Submission {
  const payload = parse(typeformSchema, body, 'Typeform');
  const response = payload.form_response;
  const titles = new Map((response.definition?.fields ?? []).map((f) => [f.id, f.title]));
  const list = new EntryList();
  for (const answer of response.answers) {
    const a = answer as Record<string, unknown>;
    let value: RawFieldValue = null;
    const raw = own(a, answer.type);
    if (answer.type === 'choice') {
      const choice = isRecord(raw) ? raw : {};
      const text = own(choice, 'label') ?? own(choice, 'other');
      value = typeof text === 'string' ? text : null;
    } else if (answer.type === 'choices') {
      const labels = isRecord(raw) ? own(raw, 'labels') : undefined;
      value = Array.isArray(labels)
        ? list.items(titles.get(answer.field.id) ?? answer.field.id, labels.length, (i) =>
            scalarText(labels[i]),
          )
        : [];
    } else if (typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'boolean') value = raw;
    const kind = own(TYPEFORM_KINDS, answer.field.type ?? '') ?? own(TYPEFORM_KINDS, answer.type) ?? 'text';
    list.add({
      key: answer.field.id,
      ref: answer.field.ref,
      label: titles.get(answer.field.id),
      kind,
      value,
    });
  }
  // Hidden fields as sent, whatever they are named (not z.record: see shared/leads/lead.ts).
  const hidden = isRecord(response.hidden) ? response.hidden : {};
  for (const [key, value] of Object.entries(hidden)) {
    if (typeof value === 'string') list.add({ key: `hidden.${key}`, label: key, value });
  }
  return {
    provider: 'typeform',
    submissionId: payload.event_id,
    submittedAt: response.submitted_at,
    formId: response.form_id,
    formName: response.definition?.title,
    entries: list.entries,
  };
}

// ---------------------------------------------------------------------------------------------
// Webflow form_submission: payload.data keyed by the labels the designer chose.

const webflowSchema = z.looseObject({
  triggerType: z.string().optional(),
  payload: z.looseObject({
    id: z.string().min(1).optional(),
    _id: z.string().min(1).optional(),
    name: z.string().optional(),
    formId: z.string().optional(),
    submittedAt: z.string().optional(),
    // Checked entry by entry below (z.record would drop a `__proto__` label).
    data: z.custom<Record<string, unknown>>(isRecord, { error: 'must be an object of fields' }),
  }),
});

export function fromWebflow(body: unknown): Submission {
  const { payload } = parse(webflowSchema, body, 'Webflow form_submission');
  const list = new EntryList();
  for (const [label, raw] of Object.entries(payload.data)) {
    const parsed = flatValue.safeParse(raw);
    if (!parsed.success) {
      throw new RequestError(400, 'Not a Webflow form_submission payload', {
        fields: [
          {
            field: `payload.data.${clip(label)}`,
            message: 'must be a string, number, boolean, null or list',
          },
        ],
      });
    }
    const value = parsed.data;
    list.add({
      key: label,
      label,
      value: Array.isArray(value) ? list.items(label, value.length, (i) => String(value[i])) : value,
    });
  }
  return {
    provider: 'webflow',
    submissionId: payload.id ?? payload._id,
    submittedAt: payload.submittedAt,
    formId: payload.formId,
    formName: payload.name,
    entries: list.entries,
  };
}

// ---------------------------------------------------------------------------------------------
// Tally: data.fields[] with key, label, type and value (choice values are option ids).

const tallySchema = z.looseObject({
  eventId: z.string().min(1),
  eventType: z.string().optional(),
  createdAt: z.string().optional(),
  data: z.looseObject({
    submissionId: z.string().optional(),
    responseId: z.string().optional(),
    formId: z.string().optional(),
    formName: z.string().optional(),
    createdAt: z.string().optional(),
    fields: z.array(
      z.looseObject({
        key: z.string().min(1),
        label: z.string().nullish(),
        type: z.string(),
        value: z.unknown(),
        options: z.array(z.looseObject({ id: z.string(), text: z.string() })).optional(),
      }),
    ),
  }),
});

const TALLY_KINDS: Record<string, FieldKind> = {
  INPUT_EMAIL: 'email',
  INPUT_PHONE_NUMBER: 'phone',
  INPUT_LINK: 'url',
  INPUT_NUMBER: 'number',
  INPUT_DATE: 'date',
  CHECKBOX: 'boolean',
  MULTIPLE_CHOICE: 'choice',
  CHECKBOXES: 'choice',
  DROPDOWN: 'choice',
  MULTI_SELECT: 'choice',
};

export function fromTally(body: unknown): Submission {
  const payload = parse(tallySchema, body, 'Tally');
  const list = new EntryList();
  for (const field of payload.data.fields) {
    const options = new Map((field.options ?? []).map((o) => [o.id, o.text]));
    const raw = field.value;
    let value: RawFieldValue;
    // Option ids become their texts item by item, each checked as it is made: a body repeating a
    // long option's id stops at the first item over the limit.
    if (Array.isArray(raw))
      value = list.items(field.label ?? field.key, raw.length, (i) => {
        const id = scalarText(raw[i]);
        return options.get(id) ?? id;
      });
    else if (typeof raw === 'string') value = options.get(raw) ?? raw;
    else if (typeof raw === 'number' || typeof raw === 'boolean') value = raw;
    else value = null;
    list.add({
      key: field.key,
      label: field.label ?? undefined,
      kind: own(TALLY_KINDS, field.type) ?? 'text',
      value,
    });
  }
  return {
    provider: 'tally',
    submissionId: payload.data.submissionId ?? payload.data.responseId ?? payload.eventId,
    submittedAt: payload.data.createdAt ?? payload.createdAt,
    formId: payload.data.formId,
    formName: payload.data.formName,
    entries: list.entries,
  };
}
