/** Kill-switch rules: which fixes a scope covers, what a valid request is, how a refusal reads. */
import { describe, expect, test } from 'vitest';
import {
  blockingSwitch,
  covers,
  isKillSwitchScope,
  refusalReason,
  safetyControllerId,
  validateKillSwitchRequest,
  type KillSwitch,
} from '../../src/domain/organisation/kill-switch.js';
import { fixWorkflowId } from '../../src/domain/fix/ids.js';

const sw = (scope: KillSwitch['scope']): KillSwitch => ({ scope, reason: 'why', actor: 'ops', activatedAt: '2026-01-01T00:00:00.000Z' });

describe('kill-switch scopes', () => {
  test('global and budget cover every project; project scopes only their own', () => {
    for (const scope of ['global', 'budget'] as const) expect(covers(scope, 'shop')).toBe(true);
    expect(covers('project:shop', 'shop')).toBe(true);
    expect(covers('project:shop', 'shop-api')).toBe(false);
    expect(covers('budget:api', 'shop')).toBe(false);
  });

  test('only well-formed scopes are accepted', () => {
    for (const ok of ['global', 'budget', 'project:shop', 'budget:shop-2']) expect(isKillSwitchScope(ok), ok).toBe(true);
    for (const bad of ['', 'Global', 'project:', 'project:Shop', 'project:a b', 'team:x', "project:x' OR 1=1"]) expect(isKillSwitchScope(bad), bad).toBe(false);
  });

  test('the validator names what is wrong', () => {
    expect(() => validateKillSwitchRequest({ scope: 'global', reason: 'incident', actor: 'ops' })).not.toThrow();
    expect(() => validateKillSwitchRequest({ scope: 'all', reason: 'x', actor: 'ops' })).toThrow(/invalid scope "all"/);
    expect(() => validateKillSwitchRequest({ scope: 'global', reason: ' ', actor: 'ops' })).toThrow(/needs a reason/);
    expect(() => validateKillSwitchRequest({ scope: 'global', reason: 'x'.repeat(1001), actor: 'ops' })).toThrow(/longer than 1000/);
    expect(() => validateKillSwitchRequest({ scope: 'global', reason: 'x', actor: '' })).toThrow(/needs an actor/);
    expect(() => validateKillSwitchRequest(undefined as never)).toThrow(/invalid scope/);
  });

  test('the first covering switch blocks, with a readable reason', () => {
    const active = [sw('project:api'), sw('global')];
    expect(blockingSwitch(active, 'api')?.scope).toBe('project:api');
    expect(blockingSwitch(active, 'shop')?.scope).toBe('global');
    expect(blockingSwitch([sw('project:api')], 'shop')).toBeUndefined();
    expect(refusalReason(sw('global'))).toBe('kill switch global is active (by ops): why');
  });

  test('the controller id can never be a fix id', () => {
    expect(safetyControllerId('bugfix')).toBe('bugfix:safety-controller');
    const id = '00000000-0000-4000-8000-000000000000';
    expect(fixWorkflowId({ key: 'safety', id }, 'controller')).not.toBe(safetyControllerId('bugfix'));
    expect(fixWorkflowId({ key: 'bugfix', id }, ':safety-controller')).not.toContain(':');
  });
});
