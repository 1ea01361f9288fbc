/**
 * The checkout pages' script (served as /pay/assets/checkout.js, bundled by esbuild: see
 * src/web/browser-assets.ts). On the QR page it polls the order's status and opens the paid page
 * once WeChat Pay (or the sandbox) says so; inside WeChat it starts the JSAPI payment
 * (WeixinJSBridge, present only there) with the parameters the server signed.
 */

/** GET /pay/<token>/status (src/flows/orders/web/checkout.ts). */
interface OrderStatus {
  state: 'created' | 'paid' | 'partially_refunded' | 'refunded' | 'closed' | 'expired';
}

/** WeChat's in-app bridge: only inside WeChat, after WeixinJSBridgeReady. */
interface WeixinJSBridge {
  invoke(api: 'getBrandWCPayRequest', params: Record<string, string>, done: (res: { err_msg: string }) => void): void;
}
declare global {
  interface Window {
    WeixinJSBridge?: WeixinJSBridge;
  }
}

function pollStatus(el: HTMLElement): void {
  const url = el.getAttribute('data-poll')!;
  const done = el.getAttribute('data-done')!;
  const poll = (): void => {
    fetch(url, { cache: 'no-store' })
      .then((r) => r.json() as Promise<OrderStatus>)
      .then((s) => {
        if (s.state === 'paid') {
          location.href = done;
          return;
        }
        if (s.state === 'expired' || s.state === 'closed') {
          el.textContent = '二维码已过期，请重新获取支付链接';
          return;
        }
        setTimeout(poll, 2000);
      })
      .catch(() => setTimeout(poll, 5000));
  };
  setTimeout(poll, 2000);
}

function payInWeChat(el: HTMLElement): void {
  const params = JSON.parse(el.getAttribute('data-jsapi')!) as Record<string, string>;
  const pay = (): void => {
    window.WeixinJSBridge!.invoke('getBrandWCPayRequest', params, (res) => {
      // The result here is only a hint: the order is paid when WeChat Pay's notification says so.
      location.href = res.err_msg === 'get_brand_wcpay_request:ok' ? el.getAttribute('data-done')! : el.getAttribute('data-fail')!;
    });
  };
  if (window.WeixinJSBridge) pay();
  else document.addEventListener('WeixinJSBridgeReady', pay, false);
}

const polling = document.querySelector<HTMLElement>('[data-poll]');
if (polling) pollStatus(polling);
const jsapi = document.querySelector<HTMLElement>('[data-jsapi]');
if (jsapi) payInWeChat(jsapi);

export {};
