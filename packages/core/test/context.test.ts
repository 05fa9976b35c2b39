import { describe, expect, it } from 'vitest';
import { createContext, HardenError, isHardenedMethod } from '../src/index.js';

describe('createContext', () => {
  it('reads target and arguments of each hardened method', () => {
    expect(createContext({ method: 'tools/call', params: { name: 't', arguments: { x: 1 } } })).toMatchObject(
      {
        target: 't',
        targetKind: 'tool',
        arguments: { x: 1 },
      },
    );
    expect(createContext({ method: 'prompts/get', params: { name: 'p' } })).toMatchObject({
      target: 'p',
      targetKind: 'prompt',
      arguments: {},
    });
    expect(createContext({ method: 'resources/read', params: { uri: 'notes://1' } })).toMatchObject({
      target: 'notes://1',
      targetKind: 'resource',
      arguments: undefined,
    });
    expect(
      createContext({
        method: 'completion/complete',
        params: { ref: { type: 'ref/prompt', name: 'p' }, argument: { name: 'lang', value: 'py' } },
      }),
    ).toMatchObject({ target: 'p', targetKind: 'prompt', arguments: { lang: 'py' } });
    expect(createContext({ method: 'tools/list' })).toMatchObject({
      target: undefined,
      targetKind: undefined,
    });
  });

  it('looks up the declared policy of the target', () => {
    const ctx = createContext({
      method: 'tools/call',
      params: { name: 'write' },
      lookupPolicy: (kind, target) =>
        kind === 'tool' && target === 'write' ? { tags: ['destructive'] } : undefined,
    });
    expect(ctx.policy).toEqual({ tags: ['destructive'] });
    expect(ctx.lookupPolicy('tool', 'other')).toBeUndefined();
  });

  it('exposes _meta and starts with an empty state bag', () => {
    const ctx = createContext({ method: 'tools/list', params: { _meta: { traceparent: '00-abc' } } });
    expect(ctx.meta).toEqual({ traceparent: '00-abc' });
    expect(ctx.state).toEqual({});
  });

  it.each([
    ['non-object arguments', { name: 't', arguments: 'x' }, 'ERR_INVALID_ARGUMENTS'],
    ['array arguments', { name: 't', arguments: [1] }, 'ERR_INVALID_ARGUMENTS'],
    ['missing name', { arguments: {} }, 'ERR_INVALID_PARAMS'],
    ['numeric name', { name: 7 }, 'ERR_INVALID_PARAMS'],
    ['non-object _meta', { name: 't', _meta: 'x' }, 'ERR_INVALID_PARAMS'],
  ])('refuses %s with a typed error', (_label, params, code) => {
    let error: unknown;
    try {
      createContext({ method: 'tools/call', params });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(HardenError);
    expect((error as HardenError).code).toBe(code);
  });

  it('knows which methods are hardened', () => {
    expect(isHardenedMethod('tools/call')).toBe(true);
    expect(isHardenedMethod('initialize')).toBe(false);
    expect(isHardenedMethod('notifications/cancelled')).toBe(false);
  });

  it('uses the given signal, or one that never aborts', () => {
    const controller = new AbortController();
    const given = createContext({ method: 'tools/list', signal: controller.signal });
    expect(given.signal).toBe(controller.signal);
    controller.abort();
    expect(given.signal.aborted).toBe(true);

    const a = createContext({ method: 'tools/list' });
    const b = createContext({ method: 'tools/call', params: { name: 't' } });
    expect(a.signal).toBeInstanceOf(AbortSignal);
    expect(a.signal.aborted).toBe(false);
    expect(b.signal.aborted).toBe(false);
    // Aborting a passed-in signal never reaches a context built without one.
    expect(createContext({ method: 'tools/list' }).signal.aborted).toBe(false);
  });

  it('creates a lazily given signal once, on the first read only', () => {
    const controller = new AbortController();
    let made = 0;
    const ctx = createContext({
      method: 'tools/list',
      signal: () => {
        made++;
        return controller.signal;
      },
    });
    expect(made).toBe(0);
    expect(ctx.signal).toBe(controller.signal);
    expect(ctx.signal).toBe(controller.signal);
    expect(made).toBe(1);
    controller.abort();
    expect(ctx.signal.aborted).toBe(true);
  });

  it('answers ctx.aborted without making a lazy signal when the adapter can tell', () => {
    let cancelled = false;
    let made = 0;
    const ctx = createContext({
      method: 'tools/list',
      signal: () => {
        made++;
        const controller = new AbortController();
        if (cancelled) controller.abort();
        return controller.signal;
      },
      aborted: () => cancelled,
    });
    expect(ctx.aborted).toBe(false);
    cancelled = true;
    expect(ctx.aborted).toBe(true);
    expect(made).toBe(0);
    // Once made, the signal is the answer.
    expect(ctx.signal.aborted).toBe(true);
    expect(ctx.aborted).toBe(true);
    expect(made).toBe(1);
  });

  it('reads ctx.aborted from the signal otherwise', () => {
    const controller = new AbortController();
    const given = createContext({ method: 'tools/list', signal: controller.signal });
    const lazy = createContext({ method: 'tools/list', signal: () => controller.signal });
    expect([given.aborted, lazy.aborted, createContext({ method: 'tools/list' }).aborted]).toEqual([
      false,
      false,
      false,
    ]);
    controller.abort();
    expect([given.aborted, lazy.aborted]).toEqual([true, true]);
  });
});
