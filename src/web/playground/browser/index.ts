/**
 * The playground page's script (served as /playground/app.js, bundled by esbuild: see
 * src/web/browser-assets.ts). It polls /api/playground/state once a second and renders the chats,
 * the simulated members and the selected member's record; it acts through the playground API.
 * Every element is built with createElement/textContent (dom.ts): names and messages are never
 * parsed as HTML.
 */
import { byId, clear, el, type Child } from './dom.js';
import { duration, formatTime, type TimeStyle } from './format.js';
import { linkParts } from './linkify.js';
import type { MemberDetail, PlaygroundGroup, PlaygroundState, PlaygroundUser, Trace, TraceCondition } from './types.js';
import { CHANNEL_HOW, conditionFact, describeActual, describeCondition, describeEvent, describeNote, describeRule, ROLE } from './why.js';

const KIND: Record<string, string> = { trial: '体验群', paid: '正式班', staff: '员工群' };
const PLATFORM: Record<string, string> = { wechat: '微信', telegram: 'Telegram' };
const CHANNEL_STATE: Record<string, string> = { open: '已打开', closed: '未打开', blocked: '已被拉黑' };
const HELD: Record<string, string> = { held: '等待中', delivered: '已送达', expired: '已过期', dropped: '已丢弃' };
const SEQUENCE: Record<string, string> = { waiting: '等私信渠道打开后开始', started: '已开始', expired: '没有开始（私信渠道一直没打开）', cancelled: '已取消' };
const COLORS = ['#e8833a', '#5b8def', '#9b59b6', '#16a085', '#d35400', '#c0392b', '#2c82c9', '#8e44ad', '#27ae60', '#b7950b'];

/** `kequn.view`: `group:<handle>` or `dm`; `kequn.actor`: the simulated member acting. */
const S: { state: PlaygroundState | null; member: MemberDetail | null; view: string | null; actor: string | null; chatSig: string; inflight: boolean } = {
  state: null,
  member: null,
  view: stored('kequn.view'),
  actor: stored('kequn.actor'),
  chatSig: '',
  inflight: false,
};

// A link can pick the member and the chat: /playground#as=alice&chat=dm (or chat=python-101).
{
  const h = new URLSearchParams(location.hash.slice(1));
  const as = h.get('as');
  if (as) S.actor = as;
  const c = h.get('chat');
  if (c) S.view = c === 'dm' ? 'dm' : `group:${c}`;
}

function syncHash(): void {
  const h = new URLSearchParams();
  if (S.actor) h.set('as', S.actor);
  if (S.view) h.set('chat', S.view === 'dm' ? 'dm' : S.view.slice(6));
  try {
    history.replaceState(null, '', `#${h.toString()}`);
  } catch {
    // file:// or a sandboxed frame
  }
}

function stored(k: string): string | null {
  try {
    return localStorage.getItem(k);
  } catch {
    return null;
  }
}
function store(k: string, v: string | null): string | null {
  try {
    if (v === null) localStorage.removeItem(k);
    else localStorage.setItem(k, v);
  } catch {
    // private mode: the choice lasts for this page only
  }
  return v;
}

function colorOf(id: string): string {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0;
  return COLORS[h % COLORS.length]!;
}

function avatar(name: string, id: string, cls?: string): HTMLElement {
  const a = el('span', { class: `avatar${cls ? ` ${cls}` : ''}`, 'aria-hidden': 'true', text: (Array.from(name || '?')[0] ?? '?').toUpperCase() });
  if (!cls) a.style.background = colorOf(id || name);
  return a;
}

function fmt(t: number, style: TimeStyle): string {
  return formatTime(t, style, S.state?.course.timezone);
}

function stageBadge(stage: string): HTMLElement {
  const stages = S.state?.stages ?? [];
  const i = stages.findIndex((s) => s.id === stage);
  const phase = i >= 0 ? stages[i]!.phase : null;
  return el('span', { class: `badge s${i < 0 ? 0 : i % 7}`, title: phase ? `阶段 ${stage}（${phase}）` : `阶段 ${stage}` }, stage + (phase ? ` · ${phase}` : ''));
}

/** A message's text with its http(s) links as links (opened in a new tab, no referrer). */
function messageText(text: string): Child[] {
  return linkParts(text).map((p) => (p.kind === 'link' ? el('a', { href: p.href, target: '_blank', rel: 'noopener noreferrer', text: p.text }) : p.text));
}

let toastTimer = 0;
function toast(msg: string): void {
  const t = byId('toast');
  t.textContent = msg;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = window.setTimeout(() => (t.hidden = true), 4500);
}

class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

async function api<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const init: RequestInit = { method, headers: {} };
  if (body !== undefined) {
    init.headers = { 'content-type': 'application/json' };
    init.body = JSON.stringify(body);
  }
  const r = await fetch(path, init);
  const j = (await r.json().catch(() => ({}))) as { error?: string };
  if (!r.ok) throw new ApiError(j.error ?? `HTTP ${r.status}`, r.status);
  return j as T;
}

async function act(path: string, body: unknown): Promise<unknown> {
  try {
    const r = await api('POST', `/api/playground/${path}`, body);
    refresh();
    return r;
  } catch (e) {
    toast((e as Error).message);
    throw e;
  }
}

function userById(id: string | null): PlaygroundUser | null {
  return S.state?.users.find((u) => u.id === id) ?? null;
}
function groupByHandle(h: string): PlaygroundGroup | null {
  return S.state?.groups.find((g) => g.handle === h) ?? null;
}
function currentGroup(): PlaygroundGroup | null {
  return S.view && S.view.startsWith('group:') ? groupByHandle(S.view.slice(6)) : null;
}
function setView(v: string): void {
  S.view = store('kequn.view', v);
  S.chatSig = '';
  syncHash();
  render();
}
function setActor(id: string): void {
  S.actor = store('kequn.actor', id);
  S.member = null;
  S.chatSig = '';
  syncHash();
  render();
  refresh();
}

function refresh(): void {
  if (S.inflight) return;
  S.inflight = true;
  void (async () => {
    try {
      const st = await api<PlaygroundState>('GET', '/api/playground/state');
      S.state = st;
      if (S.actor && !userById(S.actor)) {
        S.actor = store('kequn.actor', null);
        S.member = null;
      }
      if (!S.view || (S.view.startsWith('group:') && !currentGroup())) S.view = st.groups.length ? `group:${st.groups[0]!.handle}` : 'dm';
      if (S.actor) {
        try {
          S.member = await api<MemberDetail>('GET', `/api/playground/members/${encodeURIComponent(S.actor)}`);
        } catch {
          S.member = null;
        }
      }
      render();
    } catch (e) {
      const ready = byId('ready');
      ready.textContent = e instanceof ApiError && e.status === 404 ? '此实例连接的是真实微信，没有练习场' : `连不上 kequn：${(e as Error).message}`;
      ready.className = 'pill bad';
    } finally {
      S.inflight = false;
    }
  })();
}

function render(): void {
  const st = S.state;
  if (!st) return;
  byId('course').textContent = `${st.course.name} · 机器人「${st.course.botName}」`;
  const ready = byId('ready');
  ready.textContent = st.ready ? '● 机器人在线' : '○ 机器人登录中';
  ready.className = `pill ${st.ready ? 'ok' : 'bad'}`;
  byId('clock-now').textContent = `模拟时间 ${fmt(st.clock.now, 'full')}`;
  const off = st.clock.offsetMs;
  const q = st.queue;
  const qtext = `待发送 ${q.pending} 条${q.nextJobAt ? ` · 下次定时任务 ${fmt(q.nextJobAt, 'short')}` : ''}`;
  byId('clock-offset').textContent = `${off === null ? '不可快进' : off > 0 ? `已快进 ${duration(off)}` : off < 0 ? `时钟偏移 −${duration(-off)}` : '实时'} · ${qtext}`;
  byId<HTMLButtonElement>('ff-hour').disabled = byId<HTMLButtonElement>('ff-day').disabled = !st.clock.canAdvance;
  renderChats(st);
  renderUsers(st);
  renderChat(st);
  renderDetail();
}

function renderChats(st: PlaygroundState): void {
  const ul = byId('chats');
  clear(ul);
  for (const g of st.groups) {
    const v = `group:${g.handle}`;
    ul.appendChild(
      el(
        'li',
        { class: `item${S.view === v ? ' selected' : ''}`, onclick: () => setView(v), title: g.roomId },
        avatar('群', g.handle, 'group'),
        el(
          'div',
          { class: 'grow' },
          el('div', { class: 'name', text: g.name }),
          el('div', { class: 'meta' }, el('span', { class: `badge kind-${g.kind}`, text: KIND[g.kind] ?? g.kind }), ` ${g.handle} · ${g.members.length} 人`),
        ),
      ),
    );
  }
  const actor = userById(S.actor);
  ul.appendChild(
    el(
      'li',
      { class: `item${S.view === 'dm' ? ' selected' : ''}`, onclick: () => setView('dm') },
      avatar(st.course.botName, 'bot', 'bot'),
      el('div', { class: 'grow' }, el('div', { class: 'name', text: `私聊「${st.course.botName}」` }), el('div', { class: 'meta', text: actor ? `以 ${actor.name} 的身份` : '先选择一个成员' })),
    ),
  );
}

function renderUsers(st: PlaygroundState): void {
  const ul = byId('users');
  clear(ul);
  if (!st.users.length) ul.appendChild(el('li', { class: 'hint', text: '还没有成员：在下面添加一个，再让 TA 加入体验群。' }));
  for (const u of st.users) {
    const groups = st.groups.filter((g) => g.members.includes(u.id)).map((g) => g.name);
    ul.appendChild(
      el(
        'li',
        { class: `item${S.actor === u.id ? ' selected' : ''}`, onclick: () => setActor(u.id), title: `以 ${u.name} 的身份操作` },
        avatar(u.name, u.id),
        el('div', { class: 'grow' }, el('div', { class: 'name', text: u.name }), el('div', { class: 'meta', text: u.id + (groups.length ? ` · ${groups.join('、')}` : ' · 未入群') })),
        el(
          'span',
          { class: 'badges' },
          u.waiting ? el('span', { class: 'badge waiting', title: '这些私信在等 TA 加好友', text: `待发 ${u.waiting}` }) : null,
          !u.friend && u.role === 'member' ? el('span', { class: 'badge stranger', title: '还不是机器人微信号的好友：私信发不出去', text: '未加好友' }) : null,
          u.role !== 'member' ? el('span', { class: 'badge role', text: ROLE[u.role] ?? u.role }) : u.member ? stageBadge(u.member.stage) : null,
        ),
      ),
    );
  }
}

function chatLine(st: PlaygroundState, l: PlaygroundState['chats'][string][number]): HTMLElement {
  switch (l.kind) {
    case 'joined':
    case 'left':
      return el('div', { class: 'sys', text: `${fmt(l.at, 'time')}  ${l.name}${l.kind === 'joined' ? ' 加入了群聊' : ' 退出了群聊'}` });
    case 'friend_request':
      return el('div', { class: 'sys', text: `${fmt(l.at, 'time')}  ${l.name} 发送了好友申请：「${l.text}」` });
    case 'friend_accepted':
      return el('div', { class: 'sys', text: `${fmt(l.at, 'time')}  ${st.course.botName} 通过了 ${l.name} 的好友申请，现在可以私聊了` });
    default: {
      const isBot = l.kind === 'bot';
      const isMe = !isBot && l.userId === S.actor;
      return el(
        'div',
        { class: `msg${isBot ? ' bot' : ''}${isMe ? ' me' : ''}` },
        isBot ? avatar(l.name, 'bot', 'bot') : avatar(l.name, l.userId ?? l.name),
        el('div', { class: 'body' }, el('div', { class: 'who', text: `${isBot ? `${l.name}（机器人）` : l.name} · ${fmt(l.at, 'time')}` }), el('div', { class: 'bubble' }, messageText(l.text))),
      );
    }
  }
}

function renderChat(st: PlaygroundState): void {
  const g = currentGroup();
  const actor = userById(S.actor);
  const key = g ? `group:${g.handle}` : `dm:${S.actor ?? ''}`;
  const lines = st.chats[key] ?? [];
  const inGroup = !!(g && actor && g.members.includes(actor.id));

  if (g) {
    byId('chat-title').textContent = `${g.name}（${g.members.length}）`;
    const names = g.members.map((id) => userById(id)?.name ?? id);
    byId('chat-sub').textContent = `${KIND[g.kind] ?? g.kind} · ${g.handle} · ${names.length ? `群成员：${names.join('、')}` : '还没有成员'}`;
  } else {
    byId('chat-title').textContent = actor ? `${actor.name} ↔ ${st.course.botName}` : `私聊「${st.course.botName}」`;
    byId('chat-sub').textContent = actor ? `成员 ${actor.id} 与机器人的私聊` : '在左侧选择一个成员，查看 TA 与机器人的私聊';
  }
  const stranger = !!(actor && !actor.friend);
  byId('to-dm').hidden = !(g && stranger);
  byId('befriend').hidden = !(!g && stranger);
  byId<HTMLButtonElement>('befriend-send').disabled = !!actor?.requested || !st.ready;
  byId('befriend-note').textContent = !actor
    ? ''
    : actor.requested
      ? '好友申请已发出，机器人会按课程设置（随机延迟、每日上限）自动通过，通过后等待中的私信马上发出。可以点右上角 ⏩ 快进。'
      : `${actor.name} 还不是机器人微信号的好友：微信里只有好友才能收到私信。发一个好友申请（验证消息里写「试听」会被自动通过）：`;
  const join = byId('join');
  const leave = byId('leave');
  join.hidden = !(g && actor && !inGroup);
  leave.hidden = !(g && actor && inGroup);
  join.textContent = actor ? `以 ${actor.name} 加入本群` : '加入本群';
  leave.textContent = actor ? `以 ${actor.name} 退出本群` : '退出本群';

  const canSay = !!(st.ready && actor && (g ? inGroup : actor.friend));
  byId<HTMLTextAreaElement>('text').disabled = byId<HTMLButtonElement>('send').disabled = !canSay;
  byId('acting').textContent = !actor
    ? '先在左侧选择或添加一个模拟成员，再以 TA 的身份发言。'
    : g && !inGroup
      ? `${actor.name} 不在这个群里：点右上角「加入本群」。`
      : !g && !actor.friend
        ? '还不是好友，不能私聊：先在上面「加好友」。'
        : `以「${actor.name}」的身份${g ? `在群里发言（@${st.course.botName} 可以提到机器人）` : '私聊机器人'}`;

  const last = lines[lines.length - 1];
  const sig = [key, S.actor ?? '', lines.length, last ? last.n : 0, st.users.length, actor ? `${actor.friend}:${actor.waiting}` : ''].join('|');
  if (sig === S.chatSig) return;
  const box = byId('messages');
  const stick = S.chatSig.split('|')[0] !== key || box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  S.chatSig = sig;
  clear(box);
  if (!lines.length) {
    box.appendChild(
      el('div', {
        class: 'empty',
        text: g
          ? '群里还没有消息。选择一个成员，让 TA 加入本群，机器人会发欢迎语。'
          : actor
            ? actor.friend
              ? '还没有私聊消息。'
              : `还不是好友，没有私聊。${actor.waiting ? `有 ${actor.waiting} 条私信在等 TA 加好友。` : ''}`
            : '选择一个成员查看 TA 的私聊。',
      }),
    );
  }
  for (const l of lines) box.appendChild(chatLine(st, l));
  if (stick) box.scrollTop = box.scrollHeight;
}

function ruleDescriptions(): Map<string, string> {
  return new Map((S.state?.rules ?? []).map((r) => [r.id, r.description]));
}

/** Who moved the stage: a rule (by its description), staff by command, a payment. */
function stageCause(h: MemberDetail['stageHistory'][number], rules: Map<string, string>): string {
  if (h.ruleId) {
    const r = describeRule(h.ruleId, rules);
    if (r.id) return `规则「${r.title}」`;
    if (h.ruleId === 'command:/stage') return '老师用 /stage 调整';
    return r.title;
  }
  if (h.actor.startsWith('order:')) return `订单 ${h.actor.slice(6)}`;
  if (h.actor.startsWith('staff:')) return '老师调整';
  return h.actor === 'bot' ? '机器人' : h.actor === 'first-seen' ? '首次出现' : h.actor;
}

function renderChannel(ch: MemberDetail['channel']): HTMLElement {
  return el(
    'div',
    { class: 'section' },
    el('h3', { text: '私信渠道' }),
    el(
      'dl',
      { class: 'kv' },
      ch.channels.map((c) => [
        el('dt', { text: PLATFORM[c.platform] ?? c.platform }),
        el('dd', {
          text: c.state
            ? `${CHANNEL_STATE[c.state] ?? c.state} · ${c.how ? (CHANNEL_HOW[c.how] ?? c.how) : ''}${c.openedAt ? ` · ${fmt(c.openedAt, 'short')} 打开` : ''}`
            : '未知（还没私信过）',
        }),
      ]),
    ),
    ch.held.length
      ? el(
          'ul',
          { class: 'held', id: 'held' },
          ch.held.map((h) =>
            el(
              'li',
              { class: h.state === 'held' ? '' : 'done', 'data-state': h.state },
              el('div', { class: 'muted', text: `${HELD[h.state] ?? h.state} · ${h.state === 'held' ? `${fmt(h.expiresAt, 'short')} 过期` : h.doneAt ? fmt(h.doneAt, 'short') : ''}${h.ruleId ? ` · 规则 ${h.ruleId}` : ''}` }),
              el('div', { class: 'txt', text: h.text }),
            ),
          ),
        )
      : null,
    ch.sequences.map((w) => el('div', { class: 'hint', text: `推送 ${w.sequence}：${SEQUENCE[w.state] ?? w.state}` })),
  );
}

function renderWhy(traces: Trace[]): HTMLElement {
  const rules = ruleDescriptions();
  const groups: { t: Trace; rules: Trace[] }[] = [];
  const byKey = new Map<string, { t: Trace; rules: Trace[] }>();
  for (const t of traces) {
    const k = t.eventId !== null ? `e${t.eventId}` : t.jobId !== null ? `j${t.jobId}` : `t${t.id}`;
    let g = byKey.get(k);
    if (!g) {
      g = { t, rules: [] };
      byKey.set(k, g);
      groups.push(g);
    }
    g.rules.push(t);
  }
  const why = el('div', { class: 'why' });
  for (const gr of groups.slice(0, 12)) {
    why.appendChild(
      el(
        'div',
        { class: 'why-event' },
        el('div', { class: 'why-head', text: `${fmt(gr.t.at, 'time')} · ${describeEvent(gr.t)}` }),
        gr.rules
          .slice()
          .reverse()
          .map((r) => {
            const rule = describeRule(r.ruleId, rules);
            return el(
              'div',
              { class: `rule ${r.matched ? 'ok' : 'no'}`, 'data-rule': r.ruleId },
              el('span', { class: 'mark', text: r.matched ? '✓ ' : '✗ ' }),
              el('span', { class: 'rid', text: rule.title }),
              rule.id ? el('span', { class: 'muted small', text: ` ${rule.id}` }) : null,
              (r.conditions as TraceCondition[]).map((c) =>
                el('div', { class: `cond${c.ok ? '' : ' fail'}`, text: `${c.ok ? '✓ ' : '✗ '}${describeCondition(c)}${c.ok ? '' : `（实际：${describeActual(c.actual, conditionFact(c.condition))}）`}` }),
              ),
              r.matched ? r.actions.map((a) => el('div', { class: 'act', text: `→ ${describeNote(a)}` })) : null,
            );
          }),
      ),
    );
  }
  return el('div', { class: 'section' }, el('h3', { text: '为什么？最近的规则判断' }), groups.length ? why : el('div', { class: 'hint', text: '还没有规则判断记录。' }));
}

function renderDetail(): void {
  const box = byId('detail');
  clear(box);
  const actor = userById(S.actor);
  const m = S.member;
  if (!actor) {
    box.appendChild(el('p', { class: 'hint', text: '选择一个成员，这里会显示 TA 的生命周期阶段、标签、阶段记录，以及机器人每一步「为什么」这样做。' }));
    return;
  }
  box.appendChild(el('div', { class: 'card' }, avatar(actor.name, actor.id), el('div', null, el('div', { class: 'title', text: actor.name }), el('div', { class: 'muted small', text: `微信 id ${actor.id}` }))));
  if (!m) {
    box.appendChild(el('p', { class: 'hint', text: '机器人还没见过 TA。让 TA 加入一个课程群或私聊机器人后，这里会出现 TA 的记录。' }));
    return;
  }
  const mm = m.member;
  const rules = ruleDescriptions();
  box.appendChild(
    el(
      'dl',
      { class: 'kv' },
      el('dt', { text: '阶段' }),
      el('dd', null, stageBadge(mm.stage), ' ', el('span', { class: 'muted', text: `自 ${fmt(mm.stageSince, 'short')}` })),
      el('dt', { text: '成员号' }),
      el('dd', { text: mm.id }),
      el('dt', { text: '所在群' }),
      el('dd', { text: m.groups.length ? m.groups.join('、') : '无' }),
      el('dt', { text: '最近活动' }),
      el('dd', { text: fmt(mm.lastSeenAt, 'time') }),
    ),
  );
  box.appendChild(
    el('div', { class: 'section' }, el('h3', { text: '标签' }), m.tags.length ? el('div', { class: 'chips' }, m.tags.map((t) => el('span', { class: 'badge tag', text: t }))) : el('div', { class: 'hint', text: '暂无标签' })),
  );
  box.appendChild(renderChannel(m.channel));
  box.appendChild(
    el(
      'div',
      { class: 'section' },
      el('h3', { text: '阶段记录' }),
      el(
        'ul',
        { class: 'timeline' },
        m.stageHistory
          .slice()
          .reverse()
          .map((h) => el('li', null, el('b', { text: (h.from ? `${h.from} → ` : '') + h.to }), ' ', el('span', { class: 'muted', text: `${fmt(h.at, 'short')} · ${stageCause(h, rules)}` }))),
      ),
    ),
  );
  box.appendChild(renderWhy(m.traces));
}

function send(): void {
  const text = byId<HTMLTextAreaElement>('text').value;
  const g = currentGroup();
  if (!text.trim() || !S.actor) return;
  const body = g ? { user: S.actor, group: g.handle, text } : { user: S.actor, dm: true, text };
  const button = byId<HTMLButtonElement>('send');
  button.disabled = true;
  act('say', body)
    .then(() => (byId<HTMLTextAreaElement>('text').value = ''))
    .catch(() => undefined)
    .finally(() => {
      button.disabled = false;
      byId('text').focus();
    });
}

function start(): void {
  byId('composer').addEventListener('submit', (e) => {
    e.preventDefault();
    send();
  });
  byId('text').addEventListener('keydown', (e) => {
    // Enter sends; Shift+Enter is a new line; Enter while an IME is composing (拼音) belongs to the IME.
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      send();
    }
  });
  byId('new-user').addEventListener('submit', (e) => {
    e.preventDefault();
    const idInput = byId<HTMLInputElement>('new-id');
    const nameInput = byId<HTMLInputElement>('new-name');
    const id = idInput.value.trim();
    const name = nameInput.value.trim();
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) {
      toast('微信 id 只能用字母、数字、_ 和 -（最多 64 个）');
      return;
    }
    act('users', { id, name })
      .then(() => {
        idInput.value = '';
        nameInput.value = '';
        setActor(id);
      })
      .catch(() => undefined);
  });
  byId('to-dm').addEventListener('click', () => setView('dm'));
  byId('befriend').addEventListener('submit', (e) => {
    e.preventDefault();
    if (S.actor) act('befriend', { user: S.actor, greeting: byId<HTMLInputElement>('greeting').value }).catch(() => undefined);
  });
  byId('join').addEventListener('click', () => {
    const g = currentGroup();
    if (g && S.actor) act('join', { user: S.actor, group: g.handle }).catch(() => undefined);
  });
  byId('leave').addEventListener('click', () => {
    const g = currentGroup();
    if (g && S.actor) act('leave', { user: S.actor, group: g.handle }).catch(() => undefined);
  });
  byId('ff-hour').addEventListener('click', () => act('advance', { ms: 3_600_000 }).catch(() => undefined));
  byId('ff-day').addEventListener('click', () => act('advance', { ms: 86_400_000 }).catch(() => undefined));
  refresh();
  setInterval(refresh, 1000);
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
