/**
 * The join page's public types (群活码, docs/join.md): pools of groups and the acquisition
 * channels a join link may carry (`/join/python-trial?c=xhs`). The dashboard reads the channels'
 * names and spend from the config through these types; nothing else of this folder.
 */

declare module '../../core/types.js' {
  interface CourseConfig {
    /** kequn.yaml `join:` (absent: no pools or channels declared; single trial groups still have a page). */
    join: JoinConfig;
  }
}

export interface JoinPool {
  /** The pool's handle, the `<handle>` of `/join/<handle>` (a group handle for a pool of one). */
  id: string;
  /** Its groups in the order they fill. */
  groups: string[];
  /** The platform the page hands out: WeChat group QR codes, or Telegram invite links. */
  platform: 'wechat' | 'telegram';
  /** Members a group takes before the next one is used. */
  capacity: number;
  /** Staff are told when the free places of the whole pool fall to this many or fewer. */
  lowAt: number;
}

export interface JoinChannel {
  /** The tag in the link (`?c=xhs`). */
  tag: string;
  /** How it reads (`小红书`). */
  name: string;
  /** What the seller spent on it (fen), for ROI; absent: not given. */
  spendFen?: number;
}

export interface JoinConfig {
  /** Declared pools by handle. */
  pools: Record<string, JoinPool>;
  channels: Record<string, JoinChannel>;
  /** A WeChat join is credited to a channel when it follows a page view of that channel within this (ms). */
  matchWindowMs: number;
  /** Page views one client may make per minute; more get a "too many" page and are not recorded. */
  viewsPerMinute: number;
  /** Ask the WeChat puppet for the rooms' QR codes (Wechaty room.qrCode()). */
  roomQr: boolean;
  /** Where uploaded QR images are kept (absolute), when kequn.yaml says; else beside the data file (files.ts). */
  qrDir?: string;
}
