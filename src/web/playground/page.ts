/**
 * The playground page's HTML, served from /playground (no CDN). Its script and style are the
 * checked browser module beside it: browser/index.ts (served as /playground/app.js) and
 * browser/style.css (/playground/app.css), see src/web/browser-assets.ts.
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
