import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { seededRandom } from '../util/random.js';
import { createApp, loadConfig, simulatedRoomId, waitReady, type App } from '../app.js';
import type { ChatEvent } from '../bot/events.js';
import type { SimImage, SimSent } from '../bot/simulator.js';
import { ConfigError, formatProblem } from '../config/errors.js';
import type { CourseConfig } from '../core/types.js';
import type { HandleResult } from '../core/engine.js';
import { silentLogger } from '../log.js';
import { VirtualClock } from '../core/schedule/clock.js';
import { findMemberByIdentity, tagsOf } from '../store/members.js';
import { setChannel } from '../store/private-channels.js';
import { getOrder, latestOrderOf, type OrderRow } from '../flows/orders/store/orders.js';
import { handleShopCallback, shopSecretVar, signShopCallback, SHOP_SIGNATURE_HEADER, SHOP_TIMESTAMP_HEADER } from '../flows/orders/shop.js';
import { localParts } from '../util/localtime.js';
import { parseScenario, type Scenario, type Step, type Target } from './scenario-schema.js';
import { SimulatedTelegram } from './simulated-telegram.js';
import { ScratchDatabases } from '../store/pg-scratch.js';
import { isPostgresUrl } from '../store/url.js';

/** What the runner does to a simulated platform: the simulated WeChat, or Telegram on the fake Bot API. */
type SimPlatform = Pick<SimulatedTelegram, 'sent' | 'user' | 'isMember' | 'join' | 'leave' | 'say'> & {
  /** WeChat: a friend request to the bot's account. */
  befriend?(userId: string, greeting: string): string;
  /** Telegram: Start in the bot's chat. */
  start?(userId: string, payload: string): void;
  /** Members the bot removed (moderation), where the simulated platform supports it. */
  removed?: { roomId: string; userId: string }[];
};

/** Virtual time the bot gets after each step to finish replying (outbox pacing). */
const SETTLE_MS = 5 * 60_000;
/** Real time to wait for the platform to deliver a simulated member's action to the bot. */
const DELIVERY_TIMEOUT_MS = 5_000;

export interface Outcome {
  name: string;
  file: string;
  ok: boolean;
  failure?: string;
}

/** Thrown for a scenario that cannot run as written (exit code 2), as opposed to a failing one. */
export class MalformedScenario extends Error {}

/**
 * `kequn test`: runs every scenario file (directories recursively), each on a fresh in-memory
 * store with a virtual clock, and prints one line per scenario and a closing count.
 * Returns the exit code: 0 all passed, 1 some failed, 2 malformed scenario or config.
 */
export async function runScenarioCommand(
  paths: string[],
  opts: {
    configDir?: string;
    write: (line: string) => void;
    /** A PostgreSQL server URL: each scenario runs on a fresh database there (dropped after). */
    store?: string;
  },
): Promise<number> {
  const files = paths.flatMap((p) => collectFiles(resolve(p)));
  if (files.length === 0) {
    opts.write(`no scenario files (*.yaml) found in ${paths.join(', ') || '(nothing given)'}`);
    return 2;
  }
  if (opts.store !== undefined && !isPostgresUrl(opts.store)) {
    opts.write(`--store takes a postgres:// or postgresql:// URL (scenarios run in memory without it), got "${opts.store}"`);
    return 2;
  }
  const scratch = opts.store ? new ScratchDatabases(opts.store, `kequn_scenario${process.pid}`) : undefined;
  try {
    return await runScenarioFiles(files, opts, scratch);
  } finally {
    scratch?.dropAll();
  }
}

async function runScenarioFiles(files: string[], opts: { configDir?: string; write: (line: string) => void }, scratch: ScratchDatabases | undefined): Promise<number> {
  const configs = new Map<string, CourseConfig>();
  let passed = 0;
  let failed = 0;
  let malformed = false;
  for (const file of files) {
    const { scenario, problems } = parseScenario(file);
    if (!scenario) {
      malformed = true;
      failed++;
      opts.write(`FAIL ${file} (malformed scenario)`);
      for (const p of problems) opts.write(`  ${formatProblem(p)}`);
      continue;
    }
    const configDir = scenario.configDir ?? resolve(opts.configDir ?? 'config');
    let config = configs.get(configDir);
    if (!config) {
      try {
        config = loadConfig(configDir);
        configs.set(configDir, config);
      } catch (e) {
        malformed = true;
        failed++;
        opts.write(`FAIL ${scenario.name} (configuration ${configDir} is invalid)`);
        if (e instanceof ConfigError) for (const p of e.problems) opts.write(`  ${formatProblem(p)}`);
        else opts.write(`  ${(e as Error).message}`);
        continue;
      }
    }
    let outcome: Outcome;
    try {
      outcome = await runScenario(scenario, config, scratch ? { dbPath: scratch.create() } : {});
    } catch (e) {
      if (!(e instanceof MalformedScenario)) throw e;
      malformed = true;
      outcome = { name: scenario.name, file: scenario.file, ok: false, failure: e.message };
    }
    if (outcome.ok) {
      passed++;
      opts.write(`ok   ${outcome.name}`);
    } else {
      failed++;
      opts.write(`FAIL ${outcome.name}`);
      for (const line of (outcome.failure ?? '').split('\n')) opts.write(`  ${line}`);
    }
  }
  opts.write(`${passed} passed, ${failed} failed`);
  return malformed ? 2 : failed > 0 ? 1 : 0;
}

function collectFiles(path: string): string[] {
  let st;
  try {
    st = statSync(path);
  } catch {
    return [];
  }
  if (st.isFile()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((name) => {
      const p = join(path, name);
      return statSync(p).isDirectory() ? collectFiles(p) : /\.ya?ml$/.test(name) ? [p] : [];
    });
}


/**
 * Runs one scenario through the real pipeline on the simulated WeChat. `dbPath` keeps the store
 * in a file (default: in memory), e.g. to look at its figures afterwards.
 */
export async function runScenario(scenario: Scenario, baseConfig: CourseConfig, opts: { dbPath?: string } = {}): Promise<Outcome> {
  const clock = new VirtualClock(scenario.start ?? Date.now());
  const telegram = scenario.platform === 'telegram' ? await SimulatedTelegram.start(baseConfig, () => clock.now()) : undefined;
  // Roles given in the scenario's users apply by platform id, like roles in the config.
  const wrap = (baseConfig: CourseConfig): CourseConfig => ({
    ...baseConfig,
    roleOf: (platform, id) => {
      const r = scenario.users[telegram?.handleOf(id) ?? id]?.role;
      return r ?? baseConfig.roleOf(platform, id);
    },
    groupOf: (platform, id) => (platform === 'telegram' ? telegram?.groupOfChat(id) : undefined) ?? baseConfig.groupOf(platform, id),
    // On simulated Telegram every group has a chat id (made up when the config has none), as flows expect.
    groups: telegram
      ? Object.fromEntries(Object.entries(baseConfig.groups).map(([handle, g]) => [handle, { ...g, telegram: g.telegram ?? telegram.chatIdOf(handle) }]))
      : baseConfig.groups,
  });
  const config = wrap(baseConfig);
  const app = await createApp({
    config,
    clock,
    log: silentLogger,
    live: false,
    dbPath: opts.dbPath ?? ':memory:',
    random: seededRandom(42),
    ...(telegram ? { wechat: { kind: 'off' as const }, telegram: telegram.mode } : {}),
  });
  const sim: SimPlatform = telegram ?? app.sim!;
  const run = new ScenarioRun(scenario, config, app, clock, sim, telegram, wrap);
  try {
    // Users already in groups before the bot logs in: in the rooms' member lists, no join event.
    for (const [handle, u] of Object.entries(scenario.users)) {
      for (const group of u.in) {
        const g = config.groups[group];
        if (!g) throw new MalformedScenario(`users.${handle}.in: unknown group "${group}" (groups in config: ${Object.keys(config.groups).join(', ')})`);
        app.sim!.user(handle, u.name, { stranger: u.stranger });
        const room = app.sim!.room(g.wechat ?? simulatedRoomId(group), g.name);
        if (!room.payload.memberIdList.includes(handle)) room.payload.memberIdList.push(handle);
      }
    }
    await app.kernel.start();
    await waitReady(() => app.kernel.isReady());
    // What the bot does at login (reading the member lists) before the first step.
    if (Object.values(scenario.users).some((u) => u.in.length > 0)) await app.kernel.runUntil(clock.now(), { settleOnly: true });
    for (const [handle, u] of Object.entries(scenario.users)) {
      const id = telegram ? telegram.userId(handle) : handle;
      sim.user(id, u.name, { stranger: u.stranger });
      // On Telegram a user who is not a stranger pressed Start before the scenario: the store knows
      // their channel is open, as it would from that /start (WeChat says so with every join).
      if (telegram && !u.stranger) setChannel(app.db, { platform: 'telegram', chatId: id, memberId: null, state: 'open', how: 'start', now: clock.now() });
    }
    for (let i = 0; i < scenario.steps.length; i++) {
      const { step, line } = scenario.steps[i]!;
      const failure = await run.step(step);
      if (failure) {
        return { name: scenario.name, file: scenario.file, ok: false, failure: `step ${i + 1} (${scenario.file}:${line}): ${failure}\n${run.transcript()}` };
      }
    }
    return { name: scenario.name, file: scenario.file, ok: true };
  } finally {
    await app.stop();
    await telegram?.stop();
    run.cleanUp();
  }
}

class ScenarioRun {
  private cursors = new Map<string, number>();
  /** Leaves the bot has handled, `room|user`, and how many of the simulator's removals were settled. */
  private leaves = new Map<string, number>();
  private removalsSettled = 0;

  /** The copy of the course folder `edit_config` steps edit (made at the first one). */
  private editDir: string | undefined;

  constructor(
    private readonly scenario: Scenario,
    private config: CourseConfig,
    private readonly app: App,
    private readonly clock: VirtualClock,
    private readonly sim: SimPlatform,
    private readonly telegram: SimulatedTelegram | undefined,
    private readonly wrap: (config: CourseConfig) => CourseConfig,
  ) {
    for (const h of Object.keys(scenario.users)) this.seen.add(telegram ? telegram.userId(h) : h);
    app.kernel.on('handled', (e) => {
      if (e.type === 'member.left') this.leaves.set(`${e.group.id}|${e.user.id}`, (this.leaves.get(`${e.group.id}|${e.user.id}`) ?? 0) + 1);
    });
  }

  /**
   * A member the bot removed (moderation) leaves the room as WeChat reports it, a moment later:
   * wait until the bot has handled that leave too, so the next step sees its effects.
   */
  private async settleRemovals(): Promise<void> {
    const removed = this.sim.removed ?? [];
    if (this.removalsSettled >= removed.length) return;
    const deadline = Date.now() + DELIVERY_TIMEOUT_MS;
    for (; this.removalsSettled < removed.length; this.removalsSettled++) {
      const r = removed[this.removalsSettled]!;
      const key = `${r.roomId}|${r.userId}`;
      while ((this.leaves.get(key) ?? 0) === 0) {
        if (Date.now() > deadline) throw new Error(`the platform did not report ${r.userId} leaving ${r.roomId} after the bot removed them`);
        await new Promise((res) => setTimeout(res, 5));
      }
      this.leaves.set(key, this.leaves.get(key)! - 1);
    }
    await this.app.kernel.runUntil(this.clock.now() + SETTLE_MS, { settleOnly: true });
  }

  private get platform() {
    return this.scenario.platform;
  }

  private roomId(group: string): string {
    const g = this.config.groups[group];
    if (!g) throw new MalformedScenario(`unknown group "${group}" (groups in config: ${Object.keys(this.config.groups).join(', ')})`);
    return this.telegram ? this.telegram.groupChatId(group)! : (g.wechat ?? simulatedRoomId(group));
  }

  /** The platform id of a scenario user (the handle itself on the simulated WeChat). */
  private user(handle: string): string {
    const id = this.telegram ? this.telegram.userId(handle) : handle;
    const declared = this.scenario.users[handle];
    if (this.telegram && !declared && !this.seen.has(id)) {
      // An undeclared user started the bot before too (users are reachable unless declared strangers).
      setChannel(this.app.db, { platform: 'telegram', chatId: id, memberId: null, state: 'open', how: 'start', now: this.clock.now() });
    }
    this.seen.add(id);
    this.sim.user(id, declared?.name ?? handle, { stranger: declared?.stranger });
    return id;
  }

  /** Platform ids the run has already met (the declared users were set up before the steps). */
  private seen = new Set<string>();

  /** Performs a member's action and waits until the bot has handled the resulting event. */
  private async act(match: (e: ChatEvent) => boolean, action: () => void): Promise<HandleResult> {
    const handled = new Promise<HandleResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.app.kernel.off('handled', listener);
        reject(new Error('the platform did not deliver the event to the bot within 5 s'));
      }, DELIVERY_TIMEOUT_MS);
      const listener = (e: ChatEvent, r: HandleResult) => {
        if (!match(e)) return;
        clearTimeout(timer);
        this.app.kernel.off('handled', listener);
        resolve(r);
      };
      this.app.kernel.on('handled', listener);
    });
    action();
    const r = await handled;
    await this.app.kernel.runUntil(this.clock.now() + SETTLE_MS, { settleOnly: true });
    await this.settleRemovals();
    return r;
  }

  /** Runs one step; returns a failure message, or undefined when it passed. */
  async step(step: Step): Promise<string | undefined> {
    switch (step.kind) {
      case 'join': {
        const room = this.roomId(step.group);
        const user = this.user(step.user);
        const via = step.via ? this.user(step.via) : undefined;
        await this.act((e) => e.type === 'member.joined' && e.user.id === user && e.group.id === room, () => this.sim.join(user, room, via));
        return undefined;
      }
      case 'leave': {
        const room = this.roomId(step.group);
        const user = this.user(step.user);
        if (!this.sim.isMember(room, user)) return `${step.user} is not in ${step.group}, so cannot leave it`;
        await this.act((e) => e.type === 'member.left' && e.user.id === user && e.group.id === room, () => this.sim.leave(user, room));
        return undefined;
      }
      case 'say': {
        const user = this.user(step.user);
        const room = step.group ? this.roomId(step.group) : undefined;
        if (!room && !this.telegram && this.app.sim && !this.app.sim.isFriend(user)) {
          return `${step.user} cannot write to the bot privately: not a friend of the WeChat account (befriend first, or drop stranger: true)`;
        }
        await this.act(
          (e) => e.type === 'message' && e.user.id === user && (room ? e.chat.kind === 'group' && e.chat.group.id === room : e.chat.kind === 'dm'),
          () => this.sim.say(user, room ? { roomId: room } : 'bot', step.text),
        );
        return undefined;
      }
      case 'befriend': {
        const user = this.user(step.user);
        await this.act((e) => e.type === 'friend.requested' && e.user.id === user, () => this.sim.befriend!(user, step.greeting));
        return undefined;
      }
      case 'start': {
        const user = this.user(step.user);
        await this.act((e) => e.type === 'channel.opened' && e.user.id === user, () => this.sim.start!(user, step.payload));
        return undefined;
      }
      case 'edit_config':
        return this.editConfig(step);
      case 'wait':
        await this.app.kernel.runUntil(this.clock.now() + step.ms);
        await this.settleRemovals();
        return undefined;
      case 'pay':
      case 'refund':
        return this.payment(step);
      case 'shop_callback':
        return this.shopCallback(step);
      case 'expect': {
        const { messages, label } = this.since(step.to);
        // `image: true`: a picture (a PNG with bytes in it), its caption matched by contains/matches.
        const matching = messages.filter((m) => matches(m.text, step.contains, step.matches) && (step.image === undefined || isPng(m.image) === step.image));
        const what = `${step.image === true ? 'an image ' : step.image === false ? 'a text (no image) ' : ''}${step.contains !== undefined ? `containing "${step.contains}"` : step.matches ? `matching /${step.matches.source}/` : ''}`;
        if (step.count !== undefined) {
          return matching.length === step.count ? undefined : `expected ${step.count} message(s) to ${label} ${what}, got ${matching.length}`;
        }
        return matching.length > 0 ? undefined : `expected a message to ${label} ${what}, got ${messages.length ? messages.length + ' other message(s)' : 'none'}`;
      }
      case 'expect_none': {
        const { messages, label } = this.since(step.to);
        const matching = messages.filter((m) => matches(m.text, step.contains, undefined));
        if (matching.length === 0) return undefined;
        return `expected no message to ${label}${step.contains !== undefined ? ` containing "${step.contains}"` : ''}, got: ${JSON.stringify(matching[0]!.text.slice(0, 120))}`;
      }
      case 'expect_stage': {
        if (!this.config.stageIds.includes(step.is)) throw new MalformedScenario(`unknown stage "${step.is}" (stages: ${this.config.stageIds.join(', ')})`);
        const m = findMemberByIdentity(this.app.db, this.platform, this.user(step.user));
        if (!m) return `${step.user} is not known to the bot (never joined or spoke)`;
        return m.stage === step.is ? undefined : `expected ${step.user} in stage ${step.is}, but the stage is ${m.stage}`;
      }
      case 'expect_tag': {
        const m = findMemberByIdentity(this.app.db, this.platform, this.user(step.user));
        if (!m) return `${step.user} is not known to the bot (never joined or spoke)`;
        const tags = tagsOf(this.app.db, m.id);
        return tags.includes(step.has) ? undefined : `expected ${step.user} to carry tag "${step.has}", tags: ${tags.join(', ') || 'none'}`;
      }
    }
  }

  /**
   * `pay` / `refund`: the sandbox provider pays the order (a fresh attempt, as the checkout page
   * makes) and sends its signed notification through the order service's webhook handler; or
   * refunds it in full and notifies the refund the same way.
   */
  private async payment(step: Extract<Step, { kind: 'pay' | 'refund' }>): Promise<string | undefined> {
    const { service, sandbox } = this.app.orders;
    if (!sandbox && !this.telegram) throw new MalformedScenario(`"${step.kind}" needs the sandbox payment provider (catalog.yaml payments.provider: sandbox)`);
    const member = findMemberByIdentity(this.app.db, this.platform, this.user(step.user));
    if (!member) return `${step.user} is not known to the bot (never joined or spoke)`;
    let order = step.order !== undefined ? getOrder(this.app.db, step.order) : step.kind === 'pay' ? service.latestOpenOrder(member.id) : service.latestPaidOrder(member.id);
    if (order && order.member_id !== member.id) order = undefined;
    if (!order) return step.kind === 'pay' ? `${step.user} has no order awaiting payment` : `${step.user} has no paid order to refund`;
    if (this.telegram && step.kind === 'pay') {
      const failure = await this.payStars(order, this.user(step.user), step.user);
      if (failure) return failure;
    } else if (step.kind === 'pay') {
      let outTradeNo: string;
      try {
        outTradeNo = (await service.startPayment(order.token, { method: 'native', clientIp: '127.0.0.1' })).outTradeNo;
      } catch (e) {
        return `cannot pay order ${order.id}: ${(e as Error).message}`;
      }
      const status = await sandbox!.pay(outTradeNo);
      if (status !== 204 && status !== 200) return `the order service answered ${status} to the sandbox's payment notification`;
    } else {
      // A full refund: the sandbox notifies it like WeChat Pay; a Stars refund goes to the fake
      // Bot API through the real adapter (refundStarPayment).
      const r = service.requestRefund(order.id, { reason: 'scenario refund', by: 'scenario', now: this.clock.now() });
      if (!r.ok) return `cannot refund: ${r.error}`;
      await service.processRefunds();
      await sandbox?.flush();
    }
    await this.app.kernel.runUntil(this.clock.now() + SETTLE_MS, { settleOnly: true });
    return undefined;
  }

  /**
   * `shop_callback`: the external shop (or its relay) reports the user's pending order of an
   * external product paid, through the same handler `POST /shop/callback/<shop>` runs, signed
   * with the scenario's own secret over timestamp and raw body; `bad_signature` signs with
   * another secret, `stale` sends a timestamp 10 minutes old. An honest callback must be
   * accepted, a bad or stale one refused: the step fails otherwise.
   */
  private async shopCallback(step: Extract<Step, { kind: 'shop_callback' }>): Promise<string | undefined> {
    const member = findMemberByIdentity(this.app.db, this.platform, this.user(step.user));
    if (!member) return `${step.user} is not known to the bot (never joined or spoke)`;
    const order = latestOrderOf(this.app.db, member.id, ['created', 'expired'], step.product);
    if (!order) return `${step.user} has no pending order${step.product ? ` of ${step.product}` : ''}`;
    const product = this.app.kernel.currentConfig.catalog.products[order.product_id];
    if (!product?.external) throw new MalformedScenario(`"shop_callback": ${order.product_id} is not sold in an external shop (catalog.yaml external:)`);
    const shop = product.external.shop;
    const secret = `scenario-shop-secret-${shop}-0123456789`;
    const now = this.clock.now();
    const rawBody = JSON.stringify({ ref: order.id, shop_order_id: step.shop_order_id ?? `SHOP-${order.id}`, product: order.product_id, amount_fen: step.amount_fen ?? order.amount });
    const ts = String(Math.floor((step.stale ? now - 10 * 60_000 : now) / 1000));
    const headers = { [SHOP_TIMESTAMP_HEADER]: ts, [SHOP_SIGNATURE_HEADER]: signShopCallback(step.bad_signature ? `${secret}-wrong` : secret, ts, rawBody) };
    const web = { db: this.app.db, config: () => this.app.kernel.currentConfig, now: () => this.clock.now(), log: silentLogger, env: { [shopSecretVar(shop)]: secret } };
    const answer = handleShopCallback(web, this.app.orders, shop, { headers, rawBody });
    const refusedWanted = step.bad_signature || step.stale;
    if (refusedWanted && answer.status < 400) return `the shop callback with a ${step.bad_signature ? 'bad signature' : 'stale timestamp'} was accepted (${answer.status})`;
    if (!refusedWanted && answer.status !== 200) return `the shop callback was refused: ${answer.status} ${JSON.stringify(answer.body)}`;
    await this.app.kernel.runUntil(this.clock.now() + SETTLE_MS, { settleOnly: true });
    return undefined;
  }

  /**
   * Telegram: the buyer pays the Stars invoice the bot sent, as Telegram would deliver it to the
   * real adapter over the fake Bot API: a pre_checkout_query (answered by the order service), then
   * the successful_payment message.
   */
  private async payStars(order: OrderRow, userId: string, handle: string): Promise<string | undefined> {
    const api = this.telegram!.api;
    const waitFor = async (what: string, ok: () => boolean): Promise<string | undefined> => {
      const start = Date.now();
      while (!ok()) {
        if (Date.now() - start > DELIVERY_TIMEOUT_MS) return `${what} within 5 s`;
        await new Promise((r) => setTimeout(r, 5));
      }
      return undefined;
    };
    const invoiced = await waitFor('the bot did not send a Stars invoice', () => api.calls.some((c) => c.method === 'sendInvoice' && c.params.payload === order.id));
    if (invoiced) return invoiced;
    const person = api.person(Number(userId), this.scenario.users[handle]?.name ?? handle);
    const answers = api.count('answerPreCheckoutQuery');
    api.preCheckout({ user: person, payload: order.id, amount: order.amount });
    const answered = await waitFor('the bot did not answer the pre-checkout query', () => api.count('answerPreCheckoutQuery') > answers);
    if (answered) return answered;
    const answer = api.calls.filter((c) => c.method === 'answerPreCheckoutQuery').at(-1)!.params;
    if (answer.ok !== true) return `the bot refused the pre-checkout: ${String(answer.error_message ?? '')}`;
    api.successfulPayment({ user: person, payload: order.id, amount: order.amount, chargeId: `stars-charge-${order.id}` });
    return waitFor('the order was not marked paid', () => getOrder(this.app.db, order.id)?.state === 'paid');
  }

  /**
   * `edit_config`: edits a file of a copy of the course folder, loads the edited course and hands
   * it to the running kernel, as the file watcher of `kequn start` does on a save (standing
   * schedules are re-planned). A text to replace must occur exactly once.
   */
  private async editConfig(step: Extract<Step, { kind: 'edit_config' }>): Promise<string | undefined> {
    if (!this.editDir) {
      this.editDir = mkdtempSync(join(tmpdir(), 'kequn-scenario-course-'));
      cpSync(this.config.dir, this.editDir, { recursive: true });
    }
    const path = join(this.editDir, step.file);
    const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
    let edited: string;
    if (step.append !== undefined) edited = text + (text === '' || text.endsWith('\n') ? '' : '\n') + step.append;
    else {
      const n = text.split(step.replace!).length - 1;
      if (n !== 1) throw new MalformedScenario(`edit_config: ${step.file} contains ${JSON.stringify(step.replace)} ${n} times; it must occur exactly once`);
      edited = text.replace(step.replace!, () => step.with!);
    }
    writeFileSync(path, edited);
    let next: CourseConfig;
    try {
      next = loadConfig(this.editDir);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      const problems = e.problems.map((p) => `  ${formatProblem(p)}`).join('\n');
      // Refused: the file goes back as it was and the course in force stays (as kequn start keeps it).
      writeFileSync(path, text);
      if (step.refused !== undefined && e.problems.some((p) => formatProblem(p).includes(step.refused!))) return undefined;
      return step.refused !== undefined ? `expected the edit to be refused with "${step.refused}", got:\n${problems}` : `the edited configuration is invalid:\n${problems}`;
    }
    if (step.refused !== undefined) {
      writeFileSync(path, text);
      return `expected the edit to be refused with "${step.refused}", but the edited configuration loaded`;
    }
    this.config = this.wrap(next);
    this.app.kernel.setConfig(this.config);
    await this.app.kernel.runUntil(this.clock.now(), { settleOnly: true });
    return undefined;
  }

  cleanUp(): void {
    if (this.editDir) rmSync(this.editDir, { recursive: true, force: true });
  }

  /** Messages to a target since the previous expectation on it; moves that target's cursor. */
  private since(target: Target): { messages: SimSent[]; label: string } {
    const chatId = target.kind === 'group' ? this.roomId(target.handle) : this.user(target.handle);
    const kind = target.kind === 'group' ? 'group' : 'dm';
    const key = `${kind}:${chatId}`;
    const from = this.cursors.get(key) ?? 0;
    const messages = this.sim.sent.filter((m) => m.seq > from && m.chatKind === kind && m.chatId === chatId);
    this.cursors.set(key, this.sim.sent.at(-1)?.seq ?? 0);
    return { messages, label: target.kind === 'group' ? `#${target.handle}` : `@${target.handle}` };
  }

  /** The last messages the bot sent, with virtual times, for a failure report. */
  transcript(): string {
    const tz = this.config.course.timezone;
    const recent = this.sim.sent.slice(-8);
    const now = localParts(this.clock.now(), tz);
    const lines = [`  virtual time now ${fmt(now)} (${tz}); last ${recent.length} message(s) the bot sent:`];
    for (const m of recent) {
      const target = m.chatKind === 'group' ? `#${this.handleOfRoom(m.chatId)}` : `@${this.telegram?.handleOf(m.chatId) ?? m.chatId}`;
      lines.push(`    ${fmt(localParts(m.at, tz))} ${target}: ${m.image ? `[图片 ${m.image.name}, ${m.image.bytes} bytes] ` : ''}${m.text.replace(/\s+/g, ' ').slice(0, 100)}`);
    }
    if (recent.length === 0) lines.push('    (none)');
    return lines.join('\n');
  }

  private handleOfRoom(roomId: string): string {
    return Object.keys(this.config.groups).find((h) => this.roomId(h) === roomId) ?? roomId;
  }
}

/** A sent image that is a real picture: a PNG with bytes in it (not an empty or failed file). */
function isPng(image: SimImage | undefined): boolean {
  return image !== undefined && image.mediaType === 'image/png' && image.bytes > 0;
}

function matches(text: string, contains: string | undefined, re: RegExp | undefined): boolean {
  if (contains !== undefined) return text.includes(contains);
  if (re) return re.test(text);
  return true;
}

function fmt(p: { year: number; month: number; day: number; hour: number; minute: number; second: number }): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${p.year}-${two(p.month)}-${two(p.day)} ${two(p.hour)}:${two(p.minute)}:${two(p.second)}`;
}
