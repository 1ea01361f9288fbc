/**
 * Reading the member lists of the course's groups on one platform and recording who is in them
 * (src/flows/import/store.ts importMember). The platform is asked first, outside any transaction
 * (a puppet call takes time); what it said is then written in one transaction.
 */
import type { ChatAdapter, UserRef } from '../../bot/events.js';
import { effectiveRole } from '../../core/roles.js';
import type { CourseConfig } from '../../core/types.js';
import { inTransaction, type Db } from '../../store/db.js';
import { cleanName } from '../../util/display-text.js';
import { currentPlatformIdsIn, importMember, type ImportOutcome } from './store.js';

/** What one reading found and did; `unsupported`: the platform gives bots no member list. */
export interface ImportCounts {
  unsupported: boolean;
  /** Groups whose list was read. */
  groups: number;
  /** Groups the account is not in (or the platform did not find yet), by name. */
  missing: string[];
  /** People in the lists read, each once, staff included. */
  people: number;
  /** Staff found in the lists (config staff or /grant): never recorded as students. */
  staff: number;
  /** Recorded by this reading: new members, known members new to a group, members back in a group. */
  new: number;
  added: number;
  back: number;
  /** Already recorded as in their groups. */
  present: number;
  /** Memberships kequn holds as current that the lists no longer show (left unchanged: see docs/existing-groups.md). */
  gone: number;
}

export function emptyCounts(unsupported = false): ImportCounts {
  return { unsupported, groups: 0, missing: [], people: 0, staff: 0, new: 0, added: 0, back: 0, present: 0, gone: 0 };
}

/** The course groups kequn imports on `platform`, with their chat ids. */
function importedGroups(config: CourseConfig, platform: ChatAdapter['platform']): { handle: string; chatId: string }[] {
  return Object.keys(config.import.stageOf).flatMap((handle) => {
    const g = config.groups[handle];
    // A group with no id on this platform: the simulated WeChat names it <handle>@chatroom.
    const chatId = g?.[platform] ?? (platform === 'wechat' ? `${handle}@chatroom` : undefined);
    return chatId ? [{ handle, chatId }] : [];
  });
}

/** Asks the platform for the member list of each imported group. */
export async function readRosters(adapter: ChatAdapter, config: CourseConfig): Promise<{ rosters: Map<string, UserRef[]>; missing: string[] } | undefined> {
  if (!adapter.listGroupMembers) return undefined;
  const rosters = new Map<string, UserRef[]>();
  const missing: string[] = [];
  for (const { handle, chatId } of importedGroups(config, adapter.platform)) {
    const people = await adapter.listGroupMembers(chatId);
    if (people === undefined) missing.push(config.groups[handle]?.name ?? handle);
    else rosters.set(handle, people);
  }
  return { rosters, missing };
}

/**
 * Records the people of the lists, in one transaction. Someone in several groups starts in the
 * furthest of those groups' stages (a buyer who is still in the trial group is `paid`).
 */
export function applyRosters(db: Db, config: CourseConfig, platform: ChatAdapter['platform'], read: { rosters: Map<string, UserRef[]>; missing: string[] }, now: number): ImportCounts {
  const counts = emptyCounts();
  counts.groups = read.rosters.size;
  counts.missing = read.missing;
  const rank = (stage: string) => config.stageIds.indexOf(stage);
  return inTransaction(db, () => {
    const stageOf = new Map<string, string>();
    const names = new Map<string, string>();
    const staff = new Set<string>();
    for (const [handle, people] of read.rosters) {
      const stage = config.import.stageOf[handle]!;
      for (const p of people) {
        names.set(p.id, cleanName(p.name));
        if (effectiveRole(db, config, platform, p.id) !== 'member') {
          staff.add(p.id);
          continue;
        }
        const had = stageOf.get(p.id);
        if (had === undefined || rank(stage) > rank(had)) stageOf.set(p.id, stage);
      }
    }
    counts.people = names.size;
    counts.staff = staff.size;
    const outcomes: Record<ImportOutcome, Set<string>> = { new: new Set(), added: new Set(), back: new Set(), present: new Set() };
    for (const [handle, people] of read.rosters) {
      const listed = new Set<string>();
      for (const p of people) {
        listed.add(p.id);
        if (staff.has(p.id)) continue;
        const outcome = importMember(db, { platform, platformId: p.id, name: names.get(p.id)!, groupId: handle, stage: stageOf.get(p.id)!, now });
        outcomes[outcome].add(p.id);
      }
      counts.gone += currentPlatformIdsIn(db, platform, handle).filter((m) => !listed.has(m.platform_id) && effectiveRole(db, config, platform, m.platform_id) === 'member').length;
    }
    // A person counts once, by what happened to them first-most: new, else added, else back.
    counts.new = outcomes.new.size;
    counts.added = [...outcomes.added].filter((id) => !outcomes.new.has(id)).length;
    counts.back = [...outcomes.back].filter((id) => !outcomes.new.has(id) && !outcomes.added.has(id)).length;
    counts.present = [...outcomes.present].filter((id) => !outcomes.new.has(id) && !outcomes.added.has(id) && !outcomes.back.has(id)).length;
    return counts;
  });
}

/** The counts of a reading, in Chinese, for the staff member who said /sync. */
export function describeCounts(c: ImportCounts): string {
  if (c.unsupported) return 'Telegram 不向机器人提供群成员名单：群里说话或新入群的人会被自动记录。';
  const lines = [`群成员已同步：读取了 ${c.groups} 个群的名单，共 ${c.people} 人（其中工作人员 ${c.staff} 人，不计为学员）。`];
  lines.push(`新记录 ${c.new} 人（未发欢迎），已在册的成员新记入群 ${c.added} 人，重新在群 ${c.back} 人，无变化 ${c.present} 人。`);
  if (c.gone > 0) lines.push(`另有 ${c.gone} 人记录为在群、但名单里已没有（未改动）。`);
  if (c.missing.length > 0) lines.push(`没读到名单的群：${c.missing.join('、')}（机器人账号在群里吗？）`);
  return lines.join('\n');
}
