import { loadStageConfig, type StageConfig } from '#infra/config.ts';
import { cdkContext } from '#test/support/synth.ts';

/**
 * The prod stage of cdk.json with what a real deployment fills in (cdk.json ships placeholders, and
 * prod synth refuses them): an alarm destination, the site's thank-you page and origin.
 */
export function prodReady(): Partial<StageConfig> {
  const { config } = loadStageConfig('prod', cdkContext.stages);
  return {
    alarms: { ...config.alarms, emails: ['sales-ops@acme-widgets.eu'] },
    api: { ...config.api, allowedOrigins: ['https://www.acme-widgets.eu'] },
    leads: { ...config.leads, thankYouUrl: 'https://www.acme-widgets.eu/thank-you' },
  };
}
