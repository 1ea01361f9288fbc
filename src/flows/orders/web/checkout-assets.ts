/**
 * The checkout page's script and style, served from kequn itself (no CDN; the CSP allows only
 * 'self'). The script polls the order's status on the QR page and starts WeChat's JSAPI payment
 * (WeixinJSBridge, present only inside WeChat) with the parameters the server signed.
 */
export const CHECKOUT_JS = `(function () {
  var el = document.querySelector('[data-poll]');
  if (el) {
    var poll = function () {
      fetch(el.getAttribute('data-poll'), { cache: 'no-store' }).then(function (r) { return r.json(); }).then(function (s) {
        if (s.state === 'paid') { location.href = el.getAttribute('data-done'); return; }
        if (s.state === 'expired' || s.state === 'closed') { el.textContent = '二维码已过期，请重新获取支付链接'; return; }
        setTimeout(poll, 2000);
      }).catch(function () { setTimeout(poll, 5000); });
    };
    setTimeout(poll, 2000);
  }
  var js = document.querySelector('[data-jsapi]');
  if (js) {
    var params = JSON.parse(js.getAttribute('data-jsapi'));
    var pay = function () {
      window.WeixinJSBridge.invoke('getBrandWCPayRequest', params, function (res) {
        // The result here is only a hint: the order is paid when WeChat Pay's notification says so.
        location.href = res.err_msg === 'get_brand_wcpay_request:ok' ? js.getAttribute('data-done') : js.getAttribute('data-fail');
      });
    };
    if (window.WeixinJSBridge) pay(); else document.addEventListener('WeixinJSBridgeReady', pay, false);
  }
})();
`;

export const CHECKOUT_CSS = `body{font-family:-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;background:#f5f5f5;color:#222}
main{max-width:420px;margin:0 auto;padding:24px 16px;background:#fff;min-height:100vh;box-sizing:border-box}
h1{font-size:20px}.desc,.meta,.hint{color:#666;font-size:14px}.error{color:#c00}
table.price{width:100%;border-collapse:collapse;margin:16px 0}table.price td{padding:6px 0}table.price td:last-child{text-align:right}
tr.discount{color:#c60}tr.total td{font-weight:bold;font-size:18px;border-top:1px solid #eee}
form.code{display:flex;gap:8px;margin:12px 0}form.code input{flex:1;padding:8px}
button{padding:8px 14px;font-size:15px}button.pay{width:100%;padding:12px;background:#07c160;color:#fff;border:0;border-radius:6px;font-size:17px}
img.qr{display:block;margin:16px auto;width:240px;height:240px}.total{font-size:22px;text-align:center}
`;
