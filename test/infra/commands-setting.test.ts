import { describe, expect, it } from 'vitest';
import { catalog } from '#functions/catalog.ts';
import { loadStageConfig } from '#infra/config.ts';
import { cdkContext, synthStack, type TemplateResource } from '#test/support/synth.ts';

/** `commands.allowDelete`: off on every stage unless set, and carried to integration-commands only. */
const commandsConfigOf = (template: ReturnType<typeof synthStack>['template']) =>
  Object.values(template.findResources('AWS::Lambda::Function') as Record<string, TemplateResource>)
    .map((fn) => fn.Properties.Environment?.Variables ?? {})
    .filter((env) => 'COMMANDS_CONFIG' in env)
    .map((env) => JSON.parse(env.COMMANDS_CONFIG ?? '') as unknown);

describe('the commands setting', () => {
  it.each(['dev', 'prod'] as const)('is off on %s unless set', (stage) => {
    expect(loadStageConfig(stage, cdkContext.stages).config.commands).toEqual({ allowDelete: false });
  });

  it('reaches integration-commands alone, as set', () => {
    expect(commandsConfigOf(synthStack(catalog).template)).toEqual([{ allowDelete: false }]);
    expect(commandsConfigOf(synthStack(catalog, { commands: { allowDelete: true } }).template)).toEqual([
      { allowDelete: true },
    ]);
  });

  it('fails synth naming the setting when it is not a boolean, or unknown', () => {
    const stages = structuredClone(cdkContext.stages) as Record<string, object>;
    stages.dev = { ...stages.dev, commands: { allowDelete: 'yes' } };
    expect(() => loadStageConfig('dev', stages)).toThrow(/stages\.dev\.commands\.allowDelete/);
    stages.dev = { ...stages.dev, commands: { allowDeletes: true } };
    expect(() => loadStageConfig('dev', stages)).toThrow(/stages\.dev\.commands/);
  });
});
