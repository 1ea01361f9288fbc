/**
 * The playground page: plain HTML, CSS and vanilla JS served from /playground (no CDN, no build
 * step). The script builds every element with createElement/textContent: member names and
 * messages are never parsed as HTML. It polls /api/playground/state once a second.
 *
 * The script and style are String.raw literals: keep `${` and backticks out of them.
 */

export const PLAYGROUND_HTML = String.raw`<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>kequn 练习场</title>
<link rel="stylesheet" href="/playground/app.css">
<script src="/playground/app.js" defer></script>
</head>
<body>
<header class="top">
  <div class="brand">
    <span class="logo" aria-hidden="true">课</span>
    <div>
      <h1>kequn 练习场</h1>
      <div id="course" class="muted"></div>
    </div>
  </div>
  <span id="ready" class="pill">连接中…</span>
  <div class="spacer"></div>
  <div class="clock">
    <div id="clock-now" class="clock-now">—</div>
    <div id="clock-offset" class="muted"></div>
  </div>
  <div class="ff">
    <button id="ff-hour" type="button" title="把模拟时钟拨快 1 小时">⏩ +1 小时</button>
    <button id="ff-day" type="button" title="把模拟时钟拨快 1 天，看试听课按天推送">⏩ +1 天</button>
  </div>
</header>
<main class="layout">
  <aside class="side">
    <section>
      <h2>会话</h2>
      <ul id="chats" class="list"></ul>
    </section>
    <section>
      <h2>模拟成员 <span class="muted small">点选后以 TA 的身份操作</span></h2>
      <ul id="users" class="list"></ul>
      <form id="new-user" class="new-user" autocomplete="off">
        <input id="new-id" placeholder="微信 id，如 alice" maxlength="64" required>
        <input id="new-name" placeholder="昵称，如 小明" maxlength="64" required>
        <button type="submit">＋ 添加成员</button>
      </form>
    </section>
  </aside>
  <section class="chat">
    <div class="chat-head">
      <div class="chat-head-text">
        <div id="chat-title" class="chat-title">—</div>
        <div id="chat-sub" class="muted small"></div>
      </div>
      <div class="chat-actions">
        <button id="to-dm" type="button" hidden title="微信里只有好友才能收到机器人的私信">去加好友</button>
        <button id="join" type="button" hidden>加入本群</button>
        <button id="leave" type="button" class="danger" hidden>退出本群</button>
      </div>
    </div>
    <div id="messages" class="messages" aria-live="polite"></div>
    <form id="befriend" class="befriend" hidden autocomplete="off">
      <div id="befriend-note" class="small"></div>
      <div class="compose-row">
        <input id="greeting" maxlength="100" value="你好，我想试听" aria-label="验证消息">
        <button id="befriend-send" type="submit" class="primary">加好友</button>
      </div>
    </form>
    <form id="composer" class="composer">
      <div id="acting" class="acting muted small"></div>
      <div class="compose-row">
        <textarea id="text" rows="2" maxlength="4000" placeholder="输入消息，Enter 发送，Shift+Enter 换行"></textarea>
        <button id="send" type="submit" class="primary">发送</button>
      </div>
    </form>
    <div id="toast" class="toast" role="alert" hidden></div>
  </section>
  <aside class="detail">
    <div id="detail"></div>
  </aside>
</main>
</body>
</html>
`;

export const PLAYGROUND_CSS = String.raw`
* { box-sizing: border-box; }
html, body { height: 100%; margin: 0; }
body {
  font: 14px/1.5 system-ui, -apple-system, "PingFang SC", "Hiragino Sans GB", "Noto Sans CJK SC", "Microsoft YaHei", sans-serif;
  color: #1f2328; background: #f3f4f6; display: flex; flex-direction: column;
}
button, input, textarea { font: inherit; }
button {
  border: 1px solid #d0d7de; background: #fff; color: #1f2328; border-radius: 6px; padding: 5px 12px; cursor: pointer;
}
button:hover:not(:disabled) { background: #f6f8fa; border-color: #afb8c1; }
button:disabled { opacity: .5; cursor: not-allowed; }
button.primary { background: #07c160; border-color: #07c160; color: #fff; }
button.primary:hover:not(:disabled) { background: #06ad56; }
button.danger { color: #cf222e; }
input, textarea { border: 1px solid #d0d7de; border-radius: 6px; padding: 6px 8px; background: #fff; min-width: 0; }
input:focus, textarea:focus { outline: 2px solid #07c16055; border-color: #07c160; }
h1 { font-size: 16px; margin: 0; }
h2 { font-size: 12px; font-weight: 600; color: #57606a; margin: 0 0 8px; letter-spacing: .04em; }
.muted { color: #6e7781; }
.small { font-size: 12px; font-weight: 400; }
.spacer { flex: 1; }

.top { display: flex; align-items: center; gap: 16px; padding: 10px 18px; background: #fff; border-bottom: 1px solid #d8dee4; }
.brand { display: flex; align-items: center; gap: 10px; }
.logo { width: 34px; height: 34px; border-radius: 8px; background: #07c160; color: #fff; display: grid; place-items: center; font-weight: 700; }
.pill { font-size: 12px; padding: 2px 10px; border-radius: 999px; background: #eaeef2; color: #57606a; }
.pill.ok { background: #dafbe1; color: #116329; }
.pill.bad { background: #ffebe9; color: #a40e26; }
.clock { text-align: right; }
.clock-now { font-variant-numeric: tabular-nums; font-weight: 600; }
.ff { display: flex; gap: 6px; }

.layout { flex: 1; min-height: 0; display: grid; grid-template-columns: 260px minmax(0, 1fr) 330px; }
.side, .detail { background: #fff; overflow-y: auto; padding: 14px; }
.side { border-right: 1px solid #d8dee4; display: flex; flex-direction: column; gap: 18px; }
.detail { border-left: 1px solid #d8dee4; }

.list { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 2px; }
.item { display: flex; align-items: center; gap: 8px; padding: 6px 8px; border-radius: 8px; cursor: pointer; }
.item:hover { background: #f3f4f6; }
.item.selected { background: #e7f8ee; box-shadow: inset 3px 0 0 #07c160; }
.item .grow { flex: 1; min-width: 0; }
.item .name { font-weight: 500; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.item .meta { font-size: 12px; color: #6e7781; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.item.disabled { cursor: default; opacity: .55; }
.count { font-size: 12px; color: #6e7781; }

.avatar { flex: none; width: 30px; height: 30px; border-radius: 6px; display: grid; place-items: center; color: #fff; font-size: 13px; font-weight: 600; }
.avatar.bot { background: #07c160; }
.avatar.group { background: #5b8def; }

.badge { display: inline-block; font-size: 11px; line-height: 18px; padding: 0 7px; border-radius: 999px; background: #eaeef2; color: #424a53; white-space: nowrap; }
.badge.kind-trial { background: #fff1d6; color: #8a5300; }
.badge.kind-paid { background: #e5dbff; color: #5a32a3; }
.badge.kind-staff { background: #eaeef2; color: #424a53; }
.badge.role { background: #ddf4ff; color: #0a3069; }
.badge.tag { background: #f6f8fa; border: 1px solid #d0d7de; }
.badge.s0 { background: #eaeef2; color: #424a53; }
.badge.s1 { background: #fff1d6; color: #8a5300; }
.badge.s2 { background: #ddf4ff; color: #0a3069; }
.badge.s3 { background: #dafbe1; color: #116329; }
.badge.s4 { background: #e5dbff; color: #5a32a3; }
.badge.s5 { background: #ffe5f1; color: #99286e; }
.badge.s6 { background: #ffebe9; color: #a40e26; }

.new-user { display: grid; gap: 6px; margin-top: 10px; padding-top: 10px; border-top: 1px dashed #d8dee4; }

.chat { display: flex; flex-direction: column; min-width: 0; min-height: 0; background: #ededed; position: relative; }
.chat-head { display: flex; align-items: center; gap: 12px; padding: 10px 16px; background: #f7f7f7; border-bottom: 1px solid #d8dee4; }
.chat-head-text { flex: 1; min-width: 0; }
.chat-title { font-weight: 600; font-size: 15px; }
.chat-actions { display: flex; gap: 6px; }
.messages { flex: 1; overflow-y: auto; padding: 16px 18px; display: flex; flex-direction: column; gap: 12px; }
.empty { margin: auto; color: #8c959f; text-align: center; }
.msg { display: flex; gap: 8px; align-items: flex-start; max-width: 78%; }
.msg.me { align-self: flex-end; flex-direction: row-reverse; }
.msg .body { min-width: 0; display: flex; flex-direction: column; }
.msg.me .body { align-items: flex-end; }
.msg .who { font-size: 12px; color: #6e7781; margin: 0 2px 2px; }
.bubble { background: #fff; border-radius: 6px; padding: 8px 11px; white-space: pre-wrap; overflow-wrap: anywhere; box-shadow: 0 1px 1px #0000000d; }
.msg.bot .bubble { background: #fff; border-left: 3px solid #07c160; }
.msg.me .bubble { background: #95ec69; }
.sys { align-self: center; font-size: 12px; color: #6e7781; background: #dcdcdc; padding: 2px 10px; border-radius: 4px; }

.composer { padding: 10px 16px 14px; background: #f7f7f7; border-top: 1px solid #d8dee4; }
.acting { margin-bottom: 6px; }
.compose-row { display: flex; gap: 8px; align-items: stretch; }
.compose-row textarea { flex: 1; resize: none; }
.befriend { padding: 10px 16px; background: #fff8e6; border-top: 1px solid #f0d8a8; }
.befriend .small { margin-bottom: 6px; color: #6b4e00; }
.befriend input { flex: 1; }
.badge.stranger { background: #fff1d6; color: #8a5300; }
.badge.waiting { background: #ffebe9; color: #a40e26; }
.held { list-style: none; margin: 0; padding: 0; font-size: 12px; display: flex; flex-direction: column; gap: 6px; }
.held li { border: 1px solid #f0d8a8; background: #fffaf0; border-radius: 6px; padding: 5px 8px; }
.held li.done { border-color: #d8dee4; background: #f6f8fa; color: #57606a; }
.held .txt { white-space: pre-wrap; overflow-wrap: anywhere; max-height: 3.2em; overflow: hidden; }
.toast { position: absolute; left: 50%; top: 64px; transform: translateX(-50%); background: #1f2328; color: #fff; padding: 8px 14px; border-radius: 8px; max-width: 80%; box-shadow: 0 4px 14px #0003; }

.card { display: flex; gap: 10px; align-items: center; margin-bottom: 12px; }
.card .avatar { width: 42px; height: 42px; font-size: 17px; }
.card .title { font-size: 16px; font-weight: 600; }
.section { margin: 14px 0; }
.section h3 { font-size: 12px; color: #57606a; margin: 0 0 6px; font-weight: 600; }
.chips { display: flex; flex-wrap: wrap; gap: 4px; }
.kv { display: grid; grid-template-columns: 64px 1fr; gap: 2px 8px; font-size: 12px; }
.kv dt { color: #6e7781; }
.kv dd { margin: 0; overflow-wrap: anywhere; }
.timeline { list-style: none; margin: 0; padding: 0; font-size: 12px; }
.timeline li { padding: 3px 0 3px 12px; border-left: 2px solid #d0d7de; position: relative; }
.timeline li::before { content: ""; position: absolute; left: -5px; top: 9px; width: 8px; height: 8px; border-radius: 50%; background: #07c160; }
.why { display: flex; flex-direction: column; gap: 8px; }
.why-event { border: 1px solid #d8dee4; border-radius: 8px; padding: 6px 8px; font-size: 12px; }
.why-head { color: #57606a; margin-bottom: 3px; }
.rule { margin: 3px 0; }
.rule .rid { font-weight: 600; }
.rule.ok .mark { color: #1a7f37; }
.rule.no .mark { color: #8c959f; }
.rule.no .rid { color: #57606a; }
.cond { margin-left: 16px; color: #57606a; }
.cond.fail { color: #a40e26; }
.act { margin-left: 16px; color: #116329; }
.hint { color: #6e7781; font-size: 13px; }
`;

export const PLAYGROUND_JS = String.raw`
'use strict';
(function () {
  var KIND = { trial: '体验群', paid: '正式班', staff: '员工群' };
  var ROLE = { owner: '群主', instructor: '讲师', assistant: '助教' };
  var COLORS = ['#e8833a', '#5b8def', '#9b59b6', '#16a085', '#d35400', '#c0392b', '#2c82c9', '#8e44ad', '#27ae60', '#b7950b'];
  var S = { state: null, member: null, view: store('kequn.view'), actor: store('kequn.actor'), chatSig: '', inflight: false };
  // A link can pick the member and the chat: /playground#as=alice&chat=dm (or chat=python-101).
  (function () {
    var h = new URLSearchParams(location.hash.slice(1));
    if (h.get('as')) S.actor = h.get('as');
    var c = h.get('chat');
    if (c) S.view = c === 'dm' ? 'dm' : 'group:' + c;
  })();
  function syncHash() {
    var h = new URLSearchParams();
    if (S.actor) h.set('as', S.actor);
    if (S.view) h.set('chat', S.view === 'dm' ? 'dm' : S.view.slice(6));
    try { history.replaceState(null, '', '#' + h.toString()); } catch (e) { /* file:// or sandboxed */ }
  }

  function store(k, v) {
    try {
      if (arguments.length > 1) { if (v === null) localStorage.removeItem(k); else localStorage.setItem(k, v); return v; }
      return localStorage.getItem(k);
    } catch (e) { return null; }
  }
  function $(id) { return document.getElementById(id); }
  /** Builds an element; string children become text nodes (never HTML). */
  function el(tag, attrs) {
    var node = document.createElement(tag);
    if (attrs) for (var k in attrs) {
      var v = attrs[k];
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') node.className = v;
      else if (k === 'text') node.textContent = v;
      else if (k.slice(0, 2) === 'on') node.addEventListener(k.slice(2), v);
      else if (k === 'style') node.style.cssText = v;
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined || c === false) continue;
      if (Array.isArray(c)) c.forEach(function (x) { if (x) node.appendChild(typeof x === 'string' ? document.createTextNode(x) : x); });
      else node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    }
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function colorOf(id) { var h = 0; for (var i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0; return COLORS[h % COLORS.length]; }
  function avatar(name, id, cls) {
    var a = el('span', { class: 'avatar' + (cls ? ' ' + cls : ''), 'aria-hidden': 'true', text: (Array.from(name || '?')[0] || '?').toUpperCase() });
    if (!cls) a.style.background = colorOf(id || name);
    return a;
  }

  var fmtCache = {};
  function fmt(t, style) {
    var tz = S.state ? S.state.course.timezone : undefined;
    var key = style + tz;
    if (!fmtCache[key]) {
      var o = { timeZone: tz, hourCycle: 'h23' };
      if (style === 'full') { o.month = 'numeric'; o.day = 'numeric'; o.weekday = 'short'; o.hour = '2-digit'; o.minute = '2-digit'; o.second = '2-digit'; }
      else if (style === 'short') { o.month = '2-digit'; o.day = '2-digit'; o.hour = '2-digit'; o.minute = '2-digit'; }
      else { o.month = '2-digit'; o.day = '2-digit'; o.hour = '2-digit'; o.minute = '2-digit'; o.second = '2-digit'; }
      try { fmtCache[key] = new Intl.DateTimeFormat('zh-CN', o); } catch (e) { delete o.timeZone; fmtCache[key] = new Intl.DateTimeFormat('zh-CN', o); }
    }
    return fmtCache[key].format(new Date(t));
  }
  function duration(ms) {
    var m = Math.round(ms / 60000), d = Math.floor(m / 1440), h = Math.floor((m % 1440) / 60), mm = m % 60, out = [];
    if (d) out.push(d + ' 天'); if (h) out.push(h + ' 小时'); if (mm && !d) out.push(mm + ' 分');
    return out.length ? out.join(' ') : '不到 1 分钟';
  }

  function stageBadge(stage) {
    var st = S.state ? S.state.stages : [], i = -1, phase = null;
    for (var k = 0; k < st.length; k++) if (st[k].id === stage) { i = k; phase = st[k].phase; }
    return el('span', { class: 'badge s' + (i < 0 ? 0 : i % 7), title: phase ? '阶段 ' + stage + '（' + phase + '）' : '阶段 ' + stage }, stage + (phase ? ' · ' + phase : ''));
  }

  var toastTimer = 0;
  function toast(msg) {
    var t = $('toast'); t.textContent = msg; t.hidden = false;
    clearTimeout(toastTimer); toastTimer = setTimeout(function () { t.hidden = true; }, 4500);
  }

  function api(method, path, body) {
    var init = { method: method, headers: {} };
    if (body !== undefined) { init.headers['content-type'] = 'application/json'; init.body = JSON.stringify(body); }
    return fetch(path, init).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) { var e = new Error(j.error || ('HTTP ' + r.status)); e.status = r.status; throw e; }
        return j;
      });
    });
  }
  function act(path, body) {
    return api('POST', '/api/playground/' + path, body).then(function (r) { refresh(); return r; }, function (e) { toast(e.message); throw e; });
  }

  function userById(id) { var us = S.state ? S.state.users : []; for (var i = 0; i < us.length; i++) if (us[i].id === id) return us[i]; return null; }
  function groupByHandle(h) { var gs = S.state ? S.state.groups : []; for (var i = 0; i < gs.length; i++) if (gs[i].handle === h) return gs[i]; return null; }
  function currentGroup() { return S.view && S.view.indexOf('group:') === 0 ? groupByHandle(S.view.slice(6)) : null; }
  function setView(v) { S.view = store('kequn.view', v); S.chatSig = ''; syncHash(); render(); }
  function setActor(id) { S.actor = store('kequn.actor', id); S.member = null; S.chatSig = ''; syncHash(); render(); refresh(); }

  function refresh() {
    if (S.inflight) return;
    S.inflight = true;
    api('GET', '/api/playground/state').then(function (st) {
      S.state = st;
      if (S.actor && !userById(S.actor)) { S.actor = store('kequn.actor', null); S.member = null; }
      if (!S.view || (S.view.indexOf('group:') === 0 && !currentGroup())) S.view = st.groups.length ? 'group:' + st.groups[0].handle : 'dm';
      if (!S.actor) return null;
      return api('GET', '/api/playground/members/' + encodeURIComponent(S.actor)).then(function (m) { S.member = m; }, function () { S.member = null; });
    }).then(function () {
      render();
    }, function (e) {
      $('ready').textContent = e.status === 404 ? '此实例连接的是真实微信，没有练习场' : '连不上 kequn：' + e.message;
      $('ready').className = 'pill bad';
    }).then(function () { S.inflight = false; });
  }

  function render() {
    var st = S.state; if (!st) return;
    $('course').textContent = st.course.name + ' · 机器人「' + st.course.botName + '」';
    $('ready').textContent = st.ready ? '● 机器人在线' : '○ 机器人登录中';
    $('ready').className = 'pill ' + (st.ready ? 'ok' : 'bad');
    $('clock-now').textContent = '模拟时间 ' + fmt(st.clock.now, 'full');
    var off = st.clock.offsetMs;
    var q = st.queue, qtext = '待发送 ' + q.pending + ' 条' + (q.nextJobAt ? ' · 下次定时任务 ' + fmt(q.nextJobAt, 'short') : '');
    $('clock-offset').textContent = (off === null ? '不可快进' : off > 0 ? '已快进 ' + duration(off) : off < 0 ? '时钟偏移 −' + duration(-off) : '实时') + ' · ' + qtext;
    $('ff-hour').disabled = $('ff-day').disabled = !st.clock.canAdvance;
    renderChats(); renderUsers(); renderChat(); renderDetail();
  }

  function renderChats() {
    var st = S.state, ul = $('chats'); clear(ul);
    st.groups.forEach(function (g) {
      var v = 'group:' + g.handle;
      ul.appendChild(el('li', { class: 'item' + (S.view === v ? ' selected' : ''), onclick: function () { setView(v); }, title: g.roomId },
        avatar('群', g.handle, 'group'),
        el('div', { class: 'grow' }, el('div', { class: 'name', text: g.name }),
          el('div', { class: 'meta' }, el('span', { class: 'badge kind-' + g.kind, text: KIND[g.kind] || g.kind }), ' ' + g.handle + ' · ' + g.members.length + ' 人'))));
    });
    var actor = userById(S.actor);
    ul.appendChild(el('li', { class: 'item' + (S.view === 'dm' ? ' selected' : ''), onclick: function () { setView('dm'); } },
      avatar(st.course.botName, 'bot', 'bot'),
      el('div', { class: 'grow' }, el('div', { class: 'name', text: '私聊「' + st.course.botName + '」' }),
        el('div', { class: 'meta', text: actor ? '以 ' + actor.name + ' 的身份' : '先选择一个成员' }))));
  }

  function renderUsers() {
    var st = S.state, ul = $('users'); clear(ul);
    if (!st.users.length) ul.appendChild(el('li', { class: 'hint', text: '还没有成员：在下面添加一个，再让 TA 加入体验群。' }));
    st.users.forEach(function (u) {
      var groups = st.groups.filter(function (g) { return g.members.indexOf(u.id) >= 0; }).map(function (g) { return g.name; });
      ul.appendChild(el('li', { class: 'item' + (S.actor === u.id ? ' selected' : ''), onclick: function () { setActor(u.id); }, title: '以 ' + u.name + ' 的身份操作' },
        avatar(u.name, u.id),
        el('div', { class: 'grow' }, el('div', { class: 'name', text: u.name }), el('div', { class: 'meta', text: u.id + (groups.length ? ' · ' + groups.join('、') : ' · 未入群') })),
        u.waiting ? el('span', { class: 'badge waiting', title: '这些私信在等 TA 加好友', text: '待发 ' + u.waiting }) : null,
        !u.friend && u.role === 'member' ? el('span', { class: 'badge stranger', title: '还不是机器人微信号的好友：私信发不出去', text: '未加好友' }) : null,
        u.role !== 'member' ? el('span', { class: 'badge role', text: ROLE[u.role] || u.role }) : u.member ? stageBadge(u.member.stage) : null));
    });
  }

  function renderChat() {
    var st = S.state, g = currentGroup(), actor = userById(S.actor);
    var key = g ? 'group:' + g.handle : 'dm:' + (S.actor || '');
    var lines = st.chats[key] || [];
    var inGroup = !!(g && actor && g.members.indexOf(actor.id) >= 0);

    if (g) {
      $('chat-title').textContent = g.name + '（' + g.members.length + '）';
      var names = g.members.map(function (id) { var u = userById(id); return u ? u.name : id; });
      $('chat-sub').textContent = (KIND[g.kind] || g.kind) + ' · ' + g.handle + ' · ' + (names.length ? '群成员：' + names.join('、') : '还没有成员');
    } else {
      $('chat-title').textContent = actor ? actor.name + ' ↔ ' + st.course.botName : '私聊「' + st.course.botName + '」';
      $('chat-sub').textContent = actor ? '成员 ' + actor.id + ' 与机器人的私聊' : '在左侧选择一个成员，查看 TA 与机器人的私聊';
    }
    var stranger = !!(actor && !actor.friend);
    $('to-dm').hidden = !(g && stranger);
    $('befriend').hidden = !(!g && stranger);
    $('befriend-send').disabled = !!(actor && actor.requested) || !st.ready;
    $('befriend-note').textContent = !actor ? '' : actor.requested
      ? '好友申请已发出，机器人会按课程设置（随机延迟、每日上限）自动通过，通过后等待中的私信马上发出。可以点右上角 ⏩ 快进。'
      : actor.name + ' 还不是机器人微信号的好友：微信里只有好友才能收到私信。发一个好友申请（验证消息里写「试听」会被自动通过）：';
    $('join').hidden = !(g && actor && !inGroup);
    $('leave').hidden = !(g && actor && inGroup);
    $('join').textContent = actor ? '以 ' + actor.name + ' 加入本群' : '加入本群';
    $('leave').textContent = actor ? '以 ' + actor.name + ' 退出本群' : '退出本群';

    var canSay = !!(st.ready && actor && (g ? inGroup : actor.friend));
    $('text').disabled = $('send').disabled = !canSay;
    $('acting').textContent = !actor ? '先在左侧选择或添加一个模拟成员，再以 TA 的身份发言。'
      : g && !inGroup ? actor.name + ' 不在这个群里：点右上角「加入本群」。'
      : !g && !actor.friend ? '还不是好友，不能私聊：先在上面「加好友」。'
      : '以「' + actor.name + '」的身份' + (g ? '在群里发言（@' + st.course.botName + ' 可以提到机器人）' : '私聊机器人');

    var sig = key + '|' + (S.actor || '') + '|' + lines.length + '|' + (lines.length ? lines[lines.length - 1].n : 0) + '|' + st.users.length + '|' + (actor ? actor.friend + ':' + actor.waiting : '');
    if (sig === S.chatSig) return;
    var box = $('messages');
    var stick = S.chatSig.split('|')[0] !== key || box.scrollHeight - box.scrollTop - box.clientHeight < 80;
    S.chatSig = sig;
    clear(box);
    if (!lines.length) box.appendChild(el('div', { class: 'empty', text: g ? '群里还没有消息。选择一个成员，让 TA 加入本群，机器人会发欢迎语。' : actor ? (actor.friend ? '还没有私聊消息。' : '还不是好友，没有私聊。' + (actor.waiting ? '有 ' + actor.waiting + ' 条私信在等 TA 加好友。' : '')) : '选择一个成员查看 TA 的私聊。' }));
    lines.forEach(function (l) {
      if (l.kind === 'joined' || l.kind === 'left') {
        box.appendChild(el('div', { class: 'sys', text: fmt(l.at, 'time') + '  ' + l.name + (l.kind === 'joined' ? ' 加入了群聊' : ' 退出了群聊') }));
        return;
      }
      if (l.kind === 'friend_request') {
        box.appendChild(el('div', { class: 'sys', text: fmt(l.at, 'time') + '  ' + l.name + ' 发送了好友申请：「' + l.text + '」' }));
        return;
      }
      if (l.kind === 'friend_accepted') {
        box.appendChild(el('div', { class: 'sys', text: fmt(l.at, 'time') + '  ' + st.course.botName + ' 通过了 ' + l.name + ' 的好友申请，现在可以私聊了' }));
        return;
      }
      var isBot = l.kind === 'bot', isMe = !isBot && l.userId === S.actor;
      box.appendChild(el('div', { class: 'msg' + (isBot ? ' bot' : '') + (isMe ? ' me' : '') },
        isBot ? avatar(l.name, 'bot', 'bot') : avatar(l.name, l.userId),
        el('div', { class: 'body' },
          el('div', { class: 'who', text: (isBot ? l.name + '（机器人）' : l.name) + ' · ' + fmt(l.at, 'time') }),
          el('div', { class: 'bubble', text: l.text }))));
    });
    if (stick) box.scrollTop = box.scrollHeight;
  }

  function actualText(v) {
    if (v === null || v === undefined) return '无';
    return typeof v === 'string' ? v : JSON.stringify(v);
  }

  function renderDetail() {
    var box = $('detail'); clear(box);
    var actor = userById(S.actor), m = S.member;
    if (!actor) { box.appendChild(el('p', { class: 'hint', text: '选择一个成员，这里会显示 TA 的生命周期阶段、标签、阶段记录，以及机器人每一步「为什么」这样做。' })); return; }
    box.appendChild(el('div', { class: 'card' }, avatar(actor.name, actor.id),
      el('div', null, el('div', { class: 'title', text: actor.name }), el('div', { class: 'muted small', text: '微信 id ' + actor.id }))));
    if (!m) {
      box.appendChild(el('p', { class: 'hint', text: '机器人还没见过 TA。让 TA 加入一个课程群或私聊机器人后，这里会出现 TA 的记录。' }));
      return;
    }
    var mm = m.member;
    box.appendChild(el('dl', { class: 'kv' },
      el('dt', { text: '阶段' }), el('dd', null, stageBadge(mm.stage), ' ', el('span', { class: 'muted', text: '自 ' + fmt(mm.stageSince, 'short') })),
      el('dt', { text: '成员号' }), el('dd', { text: mm.id }),
      el('dt', { text: '所在群' }), el('dd', { text: m.groups.length ? m.groups.join('、') : '无' }),
      el('dt', { text: '最近活动' }), el('dd', { text: fmt(mm.lastSeenAt, 'time') })));

    box.appendChild(el('div', { class: 'section' }, el('h3', { text: '标签' }),
      m.tags.length ? el('div', { class: 'chips' }, m.tags.map(function (t) { return el('span', { class: 'badge tag', text: t }); })) : el('div', { class: 'hint', text: '暂无标签' })));

    var ch = m.channel;
    if (ch) {
      var CH = { open: '已打开（好友）', closed: '未打开（还不是好友）', blocked: '已被拉黑' };
      var HELD = { held: '等待中', delivered: '已送达', expired: '已过期', dropped: '已丢弃' };
      box.appendChild(el('div', { class: 'section' }, el('h3', { text: '私信渠道' }),
        el('dl', { class: 'kv' }, [].concat.apply([], ch.channels.map(function (c) {
          return [el('dt', { text: c.platform === 'wechat' ? '微信' : c.platform }), el('dd', { text: c.state ? CH[c.state] + ' · ' + c.how + (c.openedAt ? ' · ' + fmt(c.openedAt, 'short') + ' 打开' : '') : '未知（还没私信过）' })];
        }))),
        ch.held.length ? el('ul', { class: 'held', id: 'held' }, ch.held.map(function (h) {
          return el('li', { class: h.state === 'held' ? '' : 'done', 'data-state': h.state },
            el('div', { class: 'muted', text: HELD[h.state] + ' · ' + (h.state === 'held' ? fmt(h.expiresAt, 'short') + ' 过期' : fmt(h.doneAt, 'short')) + (h.ruleId ? ' · ' + h.ruleId : '') }),
            el('div', { class: 'txt', text: h.text }));
        })) : null,
        ch.sequences.map(function (w) { return el('div', { class: 'hint', text: '推送 ' + w.sequence + '：' + (w.state === 'waiting' ? '等私信渠道打开后开始' : w.state) }); })));
    }

    box.appendChild(el('div', { class: 'section' }, el('h3', { text: '阶段记录' }),
      el('ul', { class: 'timeline' }, m.stageHistory.slice().reverse().map(function (h) {
        return el('li', null, el('b', { text: (h.from ? h.from + ' → ' : '') + h.to }), ' ',
          el('span', { class: 'muted', text: fmt(h.at, 'short') + ' · ' + (h.ruleId ? '规则 ' + h.ruleId : h.actor) }));
      }))));

    var why = el('div', { class: 'why' });
    var groups = [], byKey = {};
    m.traces.forEach(function (t) {
      var k = t.eventId !== null ? 'e' + t.eventId : t.jobId !== null ? 'j' + t.jobId : 't' + t.id;
      if (!byKey[k]) { byKey[k] = { t: t, rules: [] }; groups.push(byKey[k]); }
      byKey[k].rules.push(t);
    });
    groups.slice(0, 12).forEach(function (gr) {
      var t = gr.t, what = t.eventType || (t.jobId !== null ? '定时任务' : t.trigger) || '事件';
      why.appendChild(el('div', { class: 'why-event' },
        el('div', { class: 'why-head', text: fmt(t.at, 'time') + ' · ' + what }),
        gr.rules.slice().reverse().map(function (r) {
          return el('div', { class: 'rule ' + (r.matched ? 'ok' : 'no') },
            el('span', { class: 'mark', text: r.matched ? '✓ ' : '✗ ' }), el('span', { class: 'rid', text: r.ruleId }),
            r.conditions.map(function (c) {
              return el('div', { class: 'cond' + (c.ok ? '' : ' fail'), text: (c.ok ? '✓ ' : '✗ ') + c.condition + (c.ok ? '' : '（实际：' + actualText(c.actual) + '）') });
            }),
            r.matched ? r.actions.map(function (a) { return el('div', { class: 'act', text: '→ ' + (typeof a === 'string' ? a : JSON.stringify(a)) }); }) : null);
        })));
    });
    box.appendChild(el('div', { class: 'section' }, el('h3', { text: '为什么？最近的规则判断' }),
      groups.length ? why : el('div', { class: 'hint', text: '还没有规则判断记录。' })));
  }

  function send() {
    var text = $('text').value, g = currentGroup();
    if (!text.trim() || !S.actor) return;
    var body = g ? { user: S.actor, group: g.handle, text: text } : { user: S.actor, dm: true, text: text };
    $('send').disabled = true;
    act('say', body).then(function () { $('text').value = ''; }, function () {}).then(function () { $('send').disabled = false; $('text').focus(); });
  }

  document.addEventListener('DOMContentLoaded', function () {
    $('composer').addEventListener('submit', function (e) { e.preventDefault(); send(); });
    $('text').addEventListener('keydown', function (e) {
      // Enter sends; Shift+Enter is a new line; Enter while an IME is composing (拼音) belongs to the IME.
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) { e.preventDefault(); send(); }
    });
    $('new-user').addEventListener('submit', function (e) {
      e.preventDefault();
      var id = $('new-id').value.trim(), name = $('new-name').value.trim();
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) { toast('微信 id 只能用字母、数字、_ 和 -（最多 64 个）'); return; }
      act('users', { id: id, name: name }).then(function () { $('new-id').value = ''; $('new-name').value = ''; setActor(id); }, function () {});
    });
    $('to-dm').addEventListener('click', function () { setView('dm'); });
    $('befriend').addEventListener('submit', function (e) {
      e.preventDefault();
      if (!S.actor) return;
      act('befriend', { user: S.actor, greeting: $('greeting').value }).catch(function () {});
    });
    $('join').addEventListener('click', function () { var g = currentGroup(); if (g && S.actor) act('join', { user: S.actor, group: g.handle }).catch(function () {}); });
    $('leave').addEventListener('click', function () { var g = currentGroup(); if (g && S.actor) act('leave', { user: S.actor, group: g.handle }).catch(function () {}); });
    $('ff-hour').addEventListener('click', function () { act('advance', { ms: 3600000 }).catch(function () {}); });
    $('ff-day').addEventListener('click', function () { act('advance', { ms: 86400000 }).catch(function () {}); });
    refresh();
    setInterval(refresh, 1000);
  });
})();
`;
