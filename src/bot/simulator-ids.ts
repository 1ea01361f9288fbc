/**
 * The simulated WeChat's bot contact id, apart from the simulator so the web API can use it
 * without loading Wechaty and the mock puppet (a Telegram-only kequn never loads them).
 */
export const SIM_BOT_ID = 'kequn-bot';
