import type { FunctionDeclaration } from '#functions/declaration.ts';
import type { StageConfig } from './config.ts';

/** Reserved for documentation (RFC 2606/6761): a value on one of these is a placeholder, never real. */
const PLACEHOLDER_HOST = /(^|\.)(example\.(com|org|net)|example|invalid|test|localhost)$/i;

function isPlaceholderUrl(url: string): boolean {
  try {
    const { hostname } = new URL(url);
    return PLACEHOLDER_HOST.test(hostname) || hostname === '127.0.0.1' || hostname === '[::1]';
  } catch {
    return true;
  }
}

function isPlaceholderEmail(email: string): boolean {
  return PLACEHOLDER_HOST.test(email.slice(email.lastIndexOf('@') + 1));
}

/**
 * What keeps a stage from being deployed to production, each problem naming the setting to fix
 * (the "Before you deploy to production" checklist in docs/deploy.md, enforced). Alarms must reach a real
 * destination (no waiver: an alarm no one receives is the failure this prevents); placeholder lead
 * settings may be waived with a reason (`waivers.placeholders`), e.g. a webhooks-only deployment.
 */
export function productionProblems(
  stage: string,
  config: StageConfig,
  declarations: readonly FunctionDeclaration[],
): string[] {
  const at = (path: string) => `stages.${stage}.${path}`;
  const problems: string[] = [];
  const realEmails = config.alarms.emails.filter((email) => !isPlaceholderEmail(email));
  if (realEmails.length === 0 && config.alarms.existingTopicArn === undefined) {
    problems.push(
      `${at('alarms.emails')} / ${at('alarms.existingTopicArn')}: alarms reach no one; set at least one real email address or an existing SNS topic ARN`,
    );
  }
  // Placeholder lead settings, unless waived.
  if (config.waivers.placeholders === undefined) {
    const placeholder = (setting: string, value: string) =>
      problems.push(
        `${at(setting)}: "${value}" is a placeholder; set the real value, or waive with ${at('waivers.placeholders')} (a reason)`,
      );
    if (isPlaceholderUrl(config.leads.thankYouUrl))
      placeholder('leads.thankYouUrl', config.leads.thankYouUrl);
    for (const origin of config.api.allowedOrigins.filter(isPlaceholderUrl)) {
      placeholder('api.allowedOrigins', origin);
    }
    const formRoutes = declarations
      .filter((d) => d.settings.includes('allowedOrigins'))
      .flatMap((d) => d.triggers.flatMap((t) => (t.kind === 'http' ? [`${t.method} ${t.path}`] : [])));
    if (formRoutes.length > 0 && config.api.allowedOrigins.length === 0) {
      problems.push(
        `${at('api.allowedOrigins')}: empty while a form route is deployed (${formRoutes.join(', ')}), so every browser form post is refused; list your site's origins, or waive with ${at('waivers.placeholders')} (a reason) if no browser posts`,
      );
    }
  }
  return problems;
}

/** Where alarms go, on every stage: CloudWatch can only notify a topic in the alarm's own region. */
export function alarmTopicProblems(stage: string, config: StageConfig): string[] {
  const arn = config.alarms.existingTopicArn;
  const region = arn?.split(':')[3];
  return arn !== undefined && region !== config.region
    ? [
        `stages.${stage}.alarms.existingTopicArn: is in ${region}, but CloudWatch alarms in ${config.region} can only notify a topic in ${config.region}`,
      ]
    : [];
}
