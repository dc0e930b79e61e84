import { describe, expect, it } from 'vitest';
import { asAmount, asDomain, companyDomainFromEmail, toLead } from '#functions/lead-ingest/mapping.ts';
import { fromFlatObject, fromTally, fromTypeform, fromWebflow } from '#functions/lead-ingest/providers.ts';
import { RequestError } from '#shared/errors.ts';
import { fixture } from '#test/support/signing.ts';

const receivedAt = new Date('2026-11-28T12:00:00Z');
const map = (submission: Parameters<typeof toLead>[0], mapping = {}) =>
  toLead(submission, { mapping, submissionIdFallback: 'sha256:fallback', receivedAt });

describe('provider payloads to one Lead', () => {
  it('Typeform: by field type, then by title; ids, time and hidden fields kept', () => {
    const lead = map(fromTypeform(JSON.parse(fixture('typeform'))));
    expect(lead).toMatchObject({
      submissionId: '01JD6Z8K2M4N8P0Q2R4S6T8V0X',
      source: { provider: 'typeform', formId: 'lT4Z3j', formName: 'Request a demo' },
      submittedAt: '2026-11-28T09:16:31.000Z',
      contact: {
        email: 'grace.hopper@cobol.example.org',
        firstName: 'Grace',
        lastName: 'Hopper',
        phone: '+14155550100',
      },
      company: { name: 'Cobol Industries', domain: 'cobol-industries.com' },
      opportunity: { amount: 48000, description: 'We run 40 sales reps across two regions.' },
    });
    expect(lead.fields).toMatchObject({ 'Team size': '50-200', utm_source: 'newsletter' });
  });

  it('Webflow: by label; full name split; currency amounts read', () => {
    const lead = map(fromWebflow(JSON.parse(fixture('webflow'))));
    expect(lead).toMatchObject({
      submissionId: '6321ca84df3949bfc6752327',
      source: { provider: 'webflow', formName: 'Contact Sales' },
      contact: {
        email: 'alan@bletchley.example.co.uk',
        firstName: 'Alan',
        lastName: 'Turing',
        jobTitle: 'Head of Research',
      },
      company: { name: 'Bletchley Analytics', domain: 'bletchley.example.co.uk' },
      opportunity: { amount: 12500, description: 'Looking for a pilot in Q1.' },
    });
  });

  it('Tally: by type then label; choice ids read as their text', () => {
    const lead = map(fromTally(JSON.parse(fixture('tally'))));
    expect(lead).toMatchObject({
      submissionId: '2wgx4n',
      source: { provider: 'tally', formId: 'VwbNEw', formName: 'Partner enquiry' },
      contact: {
        email: 'katherine@orbital.example.net',
        firstName: 'Katherine',
        lastName: 'Johnson',
        phone: '+44 20 7946 0000',
      },
      company: { name: 'Orbital Mechanics Ltd', domain: 'orbital.example.net' },
      opportunity: { description: 'We resell CRM tooling in the UK.' },
    });
    expect(lead.fields.Interest).toEqual(['Reseller']);
  });

  it('keeps every answer when labels collide, even with a label shaped like a de-duplicated one', () => {
    const lead = map({
      provider: 'tally',
      entries: [
        { key: 'k1', label: 'Budget (k2)', value: 'FIRST ANSWER' },
        { key: 'k3', label: 'Budget', value: 'x' },
        { key: 'k2', label: 'Budget', value: 'SECOND ANSWER' },
        { key: 'k2', label: 'Budget', value: 'THIRD ANSWER' },
        { key: 'e', label: 'Email', kind: 'email', value: 'ada@acme.com' },
      ],
    });
    expect(lead.fields).toEqual({
      'Budget (k2)': 'FIRST ANSWER',
      Budget: 'x',
      'Budget (k2) #2': 'SECOND ANSWER',
      'Budget (k2) #3': 'THIRD ANSWER',
      Email: 'ada@acme.com',
    });
  });

  it('Standard Webhooks and generic JSON: fields under data, snake_case names', () => {
    const lead = map(
      fromFlatObject('standard-webhooks', JSON.parse(fixture('standard-webhooks')), {
        submissionId: 'msg_1',
      }),
    );
    expect(lead).toMatchObject({
      submissionId: 'msg_1',
      contact: {
        email: 'margaret@apollo.example.com',
        firstName: 'Margaret',
        lastName: 'Hamilton',
        jobTitle: 'Director of Engineering',
      },
      company: { name: 'Apollo Software', domain: 'apollo.example.com' },
      opportunity: { name: 'Apollo – flight software seats', amount: 90000 },
    });
  });

  it('configured mappings win over defaults (Typeform refs, Webflow labels, Tally keys)', () => {
    const typeform = map(fromTypeform(JSON.parse(fixture('typeform'))), {
      typeform: { lT4Z3j: { opportunityName: 'company', description: 'team_size' } },
    });
    expect(typeform.opportunity).toMatchObject({ name: 'Cobol Industries', description: '50-200' });
    const webflow = map(fromWebflow(JSON.parse(fixture('webflow'))), {
      webflow: { '*': { opportunityName: 'Message' } },
    });
    expect(webflow.opportunity.name).toBe('Looking for a pilot in Q1.');
    const tally = map(fromTally(JSON.parse(fixture('tally'))), {
      tally: { VwbNEw: { jobTitle: 'question_wQ0R3V' } },
    });
    expect(tally.contact.jobTitle).toBe('Reseller');
  });

  it('uses a hash of the body when the sender gives no id', () => {
    expect(map(fromFlatObject('form', { email: 'a@b.co' })).submissionId).toBe('sha256:fallback');
  });

  it('refuses a lead without a valid email, naming the field', () => {
    for (const body of [{ name: 'No Email' }, { email: 'not-an-email' }]) {
      let error: unknown;
      try {
        map(fromFlatObject('form', body));
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(RequestError);
      expect((error as RequestError).status).toBe(400);
      expect((error as RequestError).fields.map((f) => f.field)).toContain('contact.email');
    }
  });

  it("refuses a payload that is not the provider's shape, naming the fields", () => {
    expect(() => fromTypeform({ form_response: { answers: 'nope' } })).toThrow(RequestError);
    try {
      fromTally({ data: {} });
    } catch (error) {
      expect((error as RequestError).fields.map((f) => f.field)).toEqual(
        expect.arrayContaining(['eventId', 'data.fields']),
      );
    }
    expect.assertions(2);
  });
});

describe('value helpers', () => {
  it.each([
    [1200, 1200],
    ['50,000', 50_000],
    ['$12,500', 12_500],
    ['25k', 25_000],
    ['1.5M', 1_500_000],
    ['€ 3000', 3000],
    ['about ten', undefined],
    ['-5', undefined],
  ])('amount %j → %j', (input, expected) => {
    expect(asAmount(input)).toBe(expected);
  });

  it.each([
    ['https://www.Acme.com/about', 'acme.com'],
    ['acme.io', 'acme.io'],
    ['http://shop.acme.co.uk:8080/x?y', 'shop.acme.co.uk'],
    ['n/a', undefined],
  ])('domain %j → %j', (input, expected) => {
    expect(asDomain(input)).toBe(expected);
  });

  it('derives the company domain from work emails only', () => {
    expect(companyDomainFromEmail('ada@acme.com')).toBe('acme.com');
    for (const email of ['ada@gmail.com', 'ada@hotmail.com', 'ada@proton.me', 'ada@gmx.de']) {
      expect(companyDomainFromEmail(email)).toBeUndefined();
    }
  });
});
