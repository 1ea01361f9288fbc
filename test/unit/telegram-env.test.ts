import { describe, expect, it } from 'vitest';
import { EnvError, telegramModeFromEnv, wechatModeFromEnv } from '../../src/app.js';
import { splitText, updateProblem } from '../../src/bot/telegram-adapter.js';
import type { Update } from 'grammy/types';

const token = '123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ_abc';

describe('Telegram from the environment', () => {
  it('is off without a token, polls with one, uses the webhook with URL + secret', () => {
    expect(telegramModeFromEnv({})).toBeUndefined();
    expect(telegramModeFromEnv({ TELEGRAM_BOT_TOKEN: token })).toEqual({ token, apiRoot: undefined, delivery: { kind: 'polling' } });
    expect(telegramModeFromEnv({ TELEGRAM_BOT_TOKEN: token, TELEGRAM_WEBHOOK_URL: 'https://bot.example.com/tg/hook', TELEGRAM_WEBHOOK_SECRET: 's3cret-s3cret-s3cret' })).toEqual({
      token,
      apiRoot: undefined,
      delivery: { kind: 'webhook', url: 'https://bot.example.com/tg/hook', secret: 's3cret-s3cret-s3cret' },
    });
  });

  it('refuses a malformed token, a webhook without a secret, a weak secret, http, or no path', () => {
    const bad = (env: NodeJS.ProcessEnv) => () => telegramModeFromEnv({ TELEGRAM_BOT_TOKEN: token, ...env });
    expect(() => telegramModeFromEnv({ TELEGRAM_BOT_TOKEN: 'nope' })).toThrow(EnvError);
    expect(bad({ TELEGRAM_WEBHOOK_URL: 'https://bot.example.com/hook' })).toThrow(/TELEGRAM_WEBHOOK_SECRET is required/);
    expect(bad({ TELEGRAM_WEBHOOK_URL: 'https://bot.example.com/hook', TELEGRAM_WEBHOOK_SECRET: 'short' })).toThrow(/16-256/);
    expect(bad({ TELEGRAM_WEBHOOK_URL: 'http://bot.example.com/hook', TELEGRAM_WEBHOOK_SECRET: 's3cret-s3cret-s3cret' })).toThrow(/https/);
    expect(bad({ TELEGRAM_WEBHOOK_URL: 'https://bot.example.com', TELEGRAM_WEBHOOK_SECRET: 's3cret-s3cret-s3cret' })).toThrow(/needs a path/);
    expect(bad({ TELEGRAM_WEBHOOK_URL: 'not a url', TELEGRAM_WEBHOOK_SECRET: 's3cret-s3cret-s3cret' })).toThrow(/not a URL/);
  });

  it('Telegram alone turns the simulated WeChat off; the simulator never runs beside a real platform (issue 22)', () => {
    expect(wechatModeFromEnv({})).toEqual({ kind: 'simulated' });
    expect(wechatModeFromEnv({ KEQUN_WECHAT: 'simulated' })).toEqual({ kind: 'simulated' });
    expect(wechatModeFromEnv({ TELEGRAM_BOT_TOKEN: token })).toEqual({ kind: 'off' });
    expect(() => wechatModeFromEnv({ TELEGRAM_BOT_TOKEN: token, KEQUN_WECHAT: 'simulated' })).toThrow(/KEQUN_WECHAT=simulated cannot run beside .*second kequn/);
    expect(() => wechatModeFromEnv({ WECHATY_PUPPET_SERVICE_TOKEN: 'insecure_x', KEQUN_WECHAT: 'simulated' })).toThrow(EnvError);
    expect(() => wechatModeFromEnv({ KEQUN_WECHAT: 'real' })).toThrow(/KEQUN_WECHAT may only be "simulated"/);
    expect(wechatModeFromEnv({ TELEGRAM_BOT_TOKEN: token, WECHATY_PUPPET_SERVICE_TOKEN: 'insecure_x' }).kind).toBe('service');
  });
});

describe('Telegram adapter helpers', () => {
  it('splits long texts at line breaks under 4096 characters, keeping every character', () => {
    const text = Array.from({ length: 300 }, (_, i) => `第${i}行 ${'x'.repeat(30)}`).join('\n');
    const parts = splitText(text, 4096);
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.every((p) => p.length <= 4096)).toBe(true);
    expect(parts.join('\n')).toBe(text);
    expect(splitText('short', 4096)).toEqual(['short']);
    const emoji = '😀'.repeat(3000);
    expect(splitText(emoji, 4096).join('')).toBe(emoji);
    expect(splitText(emoji, 4096).every((p) => !/[\ud800-\udbff]$/.test(p))).toBe(true);
  });

  it('names what is wrong with a malformed update', () => {
    const u = (x: object) => x as unknown as Update;
    expect(updateProblem(u({ update_id: 1, message: { message_id: 1, date: 1, chat: { id: 1, type: 'private' }, text: 'hi' } }))).toBeUndefined();
    expect(updateProblem(u({ update_id: 1, message: { message_id: 1, date: 1, text: 'hi' } }))).toMatch(/chat/);
    expect(updateProblem(u({ update_id: 1, message: { message_id: 1, date: 1, chat: { id: 1, type: 'private' }, text: 5 } }))).toMatch(/text/);
    expect(updateProblem(u({ update_id: 1, chat_member: { chat: { id: 1, type: 'group' } } }))).toMatch(/chat_member/);
    expect(updateProblem(u({ update_id: 1, pre_checkout_query: { id: 'x' } }))).toMatch(/pre_checkout_query/);
    expect(updateProblem(u({ update_id: 1, edited_message: {} }))).toBeUndefined();
  });
});
