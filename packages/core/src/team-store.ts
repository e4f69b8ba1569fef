import type { Cluster, Redis } from "ioredis";
import { DEFAULT_TEAM, type Team } from "@tether/protocol";
import type { GlobalKeys } from "./partitions";

const DEFAULT: Team = { id: DEFAULT_TEAM, name: "Default" };

/** A team's id from its name: lower case, runs of spaces and underscores become one dash. */
export function teamIdFor(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/[\s_]+/g, "-")
    .replace(/-+/g, "-")
    .slice(0, 48);
}

/** Teams (CONTRACT §4): `default` always exists, whatever Redis holds. */
export class TeamStore {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly keys: GlobalKeys,
  ) {}

  async list(): Promise<Team[]> {
    const all = Object.values(await this.redis.hgetall(this.keys.teams)).map((j) => JSON.parse(j) as Team);
    if (!all.some((t) => t.id === DEFAULT_TEAM)) all.push(DEFAULT);
    return all.sort((a, b) => (a.id === DEFAULT_TEAM ? -1 : b.id === DEFAULT_TEAM ? 1 : a.name.localeCompare(b.name)));
  }

  async exists(id: string): Promise<boolean> {
    return id === DEFAULT_TEAM || (await this.redis.hexists(this.keys.teams, id)) === 1;
  }

  /** Which of `ids` do not exist. */
  async missing(ids: readonly string[]): Promise<string[]> {
    const out: string[] = [];
    for (const id of new Set(ids)) if (!(await this.exists(id))) out.push(id);
    return out;
  }

  /** Create a team named `name`; null when its id is taken. */
  async create(name: string): Promise<Team | null> {
    const team: Team = { id: teamIdFor(name), name: name.trim() };
    if (team.id === DEFAULT_TEAM) return null;
    return (await this.redis.hsetnx(this.keys.teams, team.id, JSON.stringify(team))) === 1 ? team : null;
  }
}
