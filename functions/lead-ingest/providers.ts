import * as z from 'zod';
import { RequestError } from '#shared/errors.ts';
import type { LeadProvider, RawFieldValue } from '#shared/leads/lead.ts';
import { fieldIssues } from '#shared/salescaling/schemas.ts';

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
  const object = parse(
    z.record(z.string(), z.unknown()),
    body,
    provider === 'form' ? 'lead' : 'Standard Webhooks lead',
  );
  // Senders often nest the fields under `data` or `lead`; read those when present.
  const inner = [object.data, object.lead].find(
    (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
  );
  const fields = parse(z.record(z.string(), z.unknown()), inner ?? object, 'lead');
  const entries: FieldEntry[] = [];
  for (const [key, value] of Object.entries(fields)) {
    const parsed = flatValue.safeParse(value);
    if (!parsed.success) continue; // nested objects are not fields
    entries.push({
      key,
      label: key,
      value: Array.isArray(parsed.data) ? parsed.data.map(String) : parsed.data,
    });
  }
  const stringOf = (value: unknown) =>
    typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
  return {
    provider,
    submissionId: ids.submissionId ?? stringOf(object.submissionId) ?? stringOf(object.submission_id),
    submittedAt: stringOf(object.submittedAt) ?? stringOf(object.submitted_at),
    formId: stringOf(object.formId) ?? stringOf(object.form_id),
    formName: stringOf(object.formName) ?? stringOf(object.form_name),
    entries,
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
    hidden: z.record(z.string(), z.unknown()).optional(),
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
  const entries: FieldEntry[] = response.answers.map((answer) => {
    const a = answer as Record<string, unknown>;
    let value: RawFieldValue = null;
    const raw = a[answer.type];
    if (answer.type === 'choice')
      value =
        (raw as { label?: string; other?: string } | undefined)?.label ??
        (raw as { other?: string })?.other ??
        null;
    else if (answer.type === 'choices')
      value = ((raw as { labels?: string[] } | undefined)?.labels ?? []).map(String);
    else if (typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'boolean') value = raw;
    const kind = TYPEFORM_KINDS[answer.field.type ?? ''] ?? TYPEFORM_KINDS[answer.type] ?? 'text';
    return { key: answer.field.id, ref: answer.field.ref, label: titles.get(answer.field.id), kind, value };
  });
  for (const [key, value] of Object.entries(response.hidden ?? {})) {
    if (typeof value === 'string') entries.push({ key: `hidden.${key}`, label: key, value });
  }
  return {
    provider: 'typeform',
    submissionId: payload.event_id,
    submittedAt: response.submitted_at,
    formId: response.form_id,
    formName: response.definition?.title,
    entries,
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
    data: z.record(z.string(), flatValue),
  }),
});

export function fromWebflow(body: unknown): Submission {
  const { payload } = parse(webflowSchema, body, 'Webflow form_submission');
  return {
    provider: 'webflow',
    submissionId: payload.id ?? payload._id,
    submittedAt: payload.submittedAt,
    formId: payload.formId,
    formName: payload.name,
    entries: Object.entries(payload.data).map(([label, value]) => ({
      key: label,
      label,
      value: Array.isArray(value) ? value.map(String) : value,
    })),
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
  const entries = payload.data.fields.map((field): FieldEntry => {
    const options = new Map((field.options ?? []).map((o) => [o.id, o.text]));
    let value: RawFieldValue;
    if (Array.isArray(field.value)) value = field.value.map((v) => options.get(String(v)) ?? String(v));
    else if (
      typeof field.value === 'string' ||
      typeof field.value === 'number' ||
      typeof field.value === 'boolean'
    ) {
      value = typeof field.value === 'string' ? (options.get(field.value) ?? field.value) : field.value;
    } else value = null;
    return {
      key: field.key,
      label: field.label ?? undefined,
      kind: TALLY_KINDS[field.type] ?? 'text',
      value,
    };
  });
  return {
    provider: 'tally',
    submissionId: payload.data.submissionId ?? payload.data.responseId ?? payload.eventId,
    submittedAt: payload.data.createdAt ?? payload.createdAt,
    formId: payload.data.formId,
    formName: payload.data.formName,
    entries,
  };
}
