import { tempConfig } from './fixtures.js';

/**
 * The fixture course with a second trial group and a pool of both that takes 3 members a group
 * (low at 2 free places), two channels (小红书 with a spend of 100 元), and the puppet not asked
 * for room QR codes (staff upload them): what a seller on a puppet without room.qrCode() has.
 */
export function joinCourse(extra = ''): string {
  return tempConfig({
    'kequn.yaml': (t) =>
      t.replace(
        '  python-vip:\n',
        '  python-102:\n    name: Python 入门体验2群\n    kind: trial\n    wechat: python-102@chatroom\n  python-vip:\n',
      ) +
      `\njoin:\n  pools:\n    python-trial: { groups: [python-101, python-102], capacity: 3, low_at: 2 }\n  channels:\n    gzh: 公众号\n    xhs: { name: 小红书, spend_fen: 10000 }\n  room_qr: false\n${extra}`,
  });
}

/** The same course with the puppet asked for room QR codes (the default). */
export function tempRoomQr(): string {
  return tempConfig({
    'kequn.yaml': (t) =>
      t.replace('  python-vip:\n', '  python-102:\n    name: Python 入门体验2群\n    kind: trial\n    wechat: python-102@chatroom\n  python-vip:\n') +
      '\njoin:\n  pools:\n    python-trial: { groups: [python-101, python-102], capacity: 3 }\n',
  });
}

