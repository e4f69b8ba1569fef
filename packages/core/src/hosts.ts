import { createHash, randomBytes, randomUUID } from "node:crypto";
import type { Cluster, Redis } from "ioredis";
import { DEFAULT_TEAM, type FleetEvent, type Host } from "@tether/protocol";
import type { Op } from "./event-log";
import type { PartitionSet } from "./partition-set";
import { casUpdate, type RecordCache } from "./projection";
import { hostTokenMacFields, type RecordMacs } from "./record-mac";

/** A host's private state, beside its public projection. */
export interface HostMeta {
  /** Version, bumped by every write; the compare-and-set guard. */
  v: string;
  /** Connection epoch: bumped by every agent connection. */
  epoch: number;
  /** Hub node holding the agent's socket now ('' when none). */
  node: string;
  /** sha256 of the agent token. */
  token: string;
}

/** What a mutation decides: the new public host (null = no change) and private fields to set. */
export interface HostChange {
  host: Host | null;
  meta?: Partial<Omit<HostMeta, "v">>;
  /** Publish a `host_update` event (default true when `host` is given). */
  publish?: boolean;
  extraOps?: Op[];
  /** Address the event to this team (a host moving to it). */
  team?: string;
  /** A second event in the same write (a move's `host_removed` for those who lose sight of the host). */
  then?: { event: FleetEvent; team: string; except?: string };
}

export const hashToken = (token: string) => createHash("sha256").update(token).digest("hex");
export const newToken = () => `tth_${randomBytes(32).toString("base64url")}`;

/**
 * Hosts: the projection and its only writers (every write goes through the event log of the
 * host's partition).
 *
 * The token index (token hash → host id, and its MAC) is global: an agent names only its token.
 * The host's own record (`token` in its meta) is the authority, so the two need not change in one
 * step (on a Redis Cluster they are in different slots): a token counts only while the index
 * points at a host whose record still holds that token's hash. Writes order themselves so that a
 * crash between two steps leaves at most an index entry that counts for nothing: the new entry
 * before the record names it, the record's change before the old entry goes.
 */
export class HostStore {
  private readonly keys: PartitionSet["keys"];

  constructor(
    private readonly redis: Redis | Cluster,
    private readonly parts: PartitionSet,
    /** MACs binding each token hash to its host (issue 13.3). */
    private readonly macs: RecordMacs,
  ) {
    this.keys = parts.keys;
  }

  async get(id: string): Promise<Host | null> {
    const json = await this.redis.hget(this.parts.ofHost(id).keys.hosts, id);
    return json ? parseHost(json) : null;
  }

  async list(): Promise<Host[]> {
    const all = (await Promise.all(this.parts.all.map((p) => this.redis.hvals(p.keys.hosts)))).flat();
    return all.map(parseHost).sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  }

  /** Host id for a token, or null. */
  async idForToken(token: string): Promise<string | null> {
    return this.idForTokenHash(hashToken(token));
  }

  /**
   * Host id for a token's hash, or null: none, a binding whose MAC does not hold (the index
   * pointed at another host, a hash copied onto one, or added by hand), reported as forged, or a
   * host whose record no longer holds this token (rotated or removed; see the class). Two round
   * trips and one HMAC: the hub asks at every agent upgrade.
   */
  async idForTokenHash(tokenHash: string): Promise<string | null> {
    const hostId = await this.indexed(tokenHash);
    if (hostId === null) return null;
    const current = await this.redis.hget(this.parts.ofHost(hostId).keys.hostMeta(hostId), "token");
    return current === tokenHash ? hostId : null;
  }

  /** The index's host for a token hash, if its MAC holds. */
  private async indexed(tokenHash: string): Promise<string | null> {
    // Two plain HGETs sent together, not a MULTI: the hub asks this at every agent upgrade, and an
    // ioredis MULTI is a pipeline object carrying every defined script (kilobytes of garbage per
    // upgrade that a reconnect storm promotes into old space: issue 15.4). The MAC is read first:
    // bind and unbind write both fields in one MULTI, and a token is bound before anyone holds it,
    // so the only write that can fall in between is an unbind, and then the host id reads null
    // (the token is gone), never a binding without its MAC.
    const [mac, hostId] = await Promise.all([
      this.redis.hget(this.keys.tokenMacs, tokenHash),
      this.redis.hget(this.keys.tokens, tokenHash),
    ]);
    if (hostId === null) return null;
    if (!this.macs.verify("host_token", hostTokenMacFields(tokenHash, hostId), mac)) {
      this.macs.refused("host_token", `${hostId} ${tokenHash.slice(0, 8)}…`, mac === null ? "missing MAC" : "wrong MAC");
      return null;
    }
    return hostId;
  }

  /** The MAC of a token hash's binding to a host. */
  private tokenMac(tokenHash: string, hostId: string): string {
    return this.macs.mac("host_token", hostTokenMacFields(tokenHash, hostId));
  }

  /** Bindings from before MACs, each with its MAC (start-up migration only). */
  async unsealed(): Promise<Array<{ tokenHash: string; hostId: string; mac: string }>> {
    const [[, bindings], [, macs]] = (await this.redis.multi().hgetall(this.keys.tokens).hgetall(this.keys.tokenMacs).exec()) as [
      [unknown, Record<string, string>],
      [unknown, Record<string, string>],
    ];
    return Object.entries(bindings)
      .filter(([tokenHash]) => macs[tokenHash] === undefined)
      .map(([tokenHash, hostId]) => ({ tokenHash, hostId, mac: this.tokenMac(tokenHash, hostId) }));
  }

  /** Does any binding carry a MAC (valid or not)? */
  async anySealed(): Promise<boolean> {
    return (await this.redis.hlen(this.keys.tokenMacs)) > 0;
  }

  async meta(id: string): Promise<HostMeta | null> {
    const raw = await this.redis.hgetall(this.parts.ofHost(id).keys.hostMeta(id));
    return raw.v ? toMeta(raw) : null;
  }

  /** Index a token hash to its host (with its MAC), before the host's record names it. */
  private async bind(tokenHash: string, id: string): Promise<void> {
    await this.redis
      .multi()
      .hset(this.keys.tokens, tokenHash, id)
      .hset(this.keys.tokenMacs, tokenHash, this.tokenMac(tokenHash, id))
      .exec();
  }

  /** Drop a token hash from the index, once no record names it. */
  private async unbind(tokenHash: string): Promise<void> {
    await this.redis.multi().hdel(this.keys.tokens, tokenHash).hdel(this.keys.tokenMacs, tokenHash).exec();
  }

  /** Create a host (offline) and its token; the token is returned once and stored only hashed. */
  async create(name: string, now: number, teamId: string = DEFAULT_TEAM): Promise<{ host: Host; token: string }> {
    const id = randomUUID();
    const token = newToken();
    const tokenHash = hashToken(token);
    const host: Host = { id, name, status: "offline", team_id: teamId };
    const { keys, log } = this.parts.ofHost(id);
    await this.bind(tokenHash, id);
    const res = await log.append({
      event: { type: "host_update", payload: { host } },
      guards: [{ key: keys.hostMeta(id), field: "v", equals: "" }],
      ops: [
        { cmd: "HSET", key: keys.hosts, args: [id, JSON.stringify(host)] },
        { cmd: "HSET", key: keys.hostMeta(id), args: ["v", 1, "epoch", 0, "node", "", "token", tokenHash, "created_at", now] },
        { cmd: "HSET", key: keys.hostTeams, args: [id, teamId] },
      ],
      team: teamId,
    });
    if (!res.ok) {
      await this.unbind(tokenHash);
      throw new Error("host id collision");
    }
    return { host, token };
  }

  /**
   * Read-modify-write one host with compare-and-set on its version. `mutate` gets the current
   * host and meta and returns the change, or null for none. Returns the new host, or null when
   * the host does not exist or `mutate` declined.
   *
   * `cache` (the hub's, of a host it holds): the state this writer's last update left, tried
   * before a read (see RecordCache). It holds no token hash: on a copy `meta.token` is "", so a
   * `mutate` that checks the token declines there and decides again on the stored state.
   */
  async update(id: string, mutate: (host: Host, meta: HostMeta) => HostChange | null, cache?: RecordCache<Host>): Promise<Host | null> {
    const { keys, log } = this.parts.ofHost(id);
    const res = await casUpdate<Host>({
      log,
      hash: keys.hosts,
      id,
      metaKey: keys.hostMeta(id),
      parse: parseHost,
      cache,
      mutate: (host, raw) => {
        const change = mutate(host, toMeta(raw));
        if (!change) return null;
        const publish = change.host !== null && change.publish !== false;
        return {
          value: change.host,
          meta: change.meta,
          event: publish ? { type: "host_update", payload: { host: change.host! } } : undefined,
          extraOps: change.extraOps,
          team: change.team,
          then: publish ? change.then : undefined,
        };
      },
    });
    if (cache?.known) delete cache.known.meta.token;
    return res?.value ?? null;
  }

  /**
   * Rename a host or move it to another team (CONTRACT §4). A move is announced twice, in one
   * atomic write: the `host_update` to the new team, then a `host_removed` to those who saw the old
   * team but do not see the new one, so the host vanishes from their view (events after it go to
   * the new team). A crash cannot leave one without the other.
   */
  async patch(id: string, change: { name?: string; teamId?: string }): Promise<Host | null> {
    return this.update(id, (host) => {
      const from = host.team_id ?? DEFAULT_TEAM;
      const to = change.teamId ?? from;
      const next: Host = { ...host, ...(change.name !== undefined ? { name: change.name } : {}), team_id: to };
      return {
        host: next,
        team: to,
        extraOps: [{ cmd: "HSET", key: this.parts.ofHost(id).keys.hostTeams, args: [id, to] }],
        ...(to !== from && { then: { event: { type: "host_removed", payload: { host_id: id } }, team: from, except: to } }),
      };
    });
  }

  /** Replace the token; the old one stops working at once. Returns the new token, or null. */
  async rotateToken(id: string): Promise<string | null> {
    const token = newToken();
    const tokenHash = hashToken(token);
    // The new entry first (it counts for nothing until the record names it), then the record (the
    // old token stops counting at once), then the old entry.
    await this.bind(tokenHash, id);
    let old = "";
    const done = await this.update(id, (_host, meta) => {
      old = meta.token;
      return { host: null, meta: { token: tokenHash } };
    });
    await this.unbind(done ? old : tokenHash);
    return done ? token : null;
  }

  /** Delete a host and revoke its token. Returns false when there was no such host. */
  async remove(id: string): Promise<boolean> {
    const meta = await this.meta(id);
    if (!meta) return false;
    const { keys, log } = this.parts.ofHost(id);
    const res = await log.append({
      event: { type: "host_removed", payload: { host_id: id } },
      guards: [{ key: keys.hostMeta(id), field: "v", equals: meta.v }],
      ops: [
        { cmd: "HDEL", key: keys.hosts, args: [id] },
        { cmd: "DEL", key: keys.hostMeta(id), args: [] },
        { cmd: "HDEL", key: keys.hostTeams, args: [id] },
      ],
    });
    if (!res.ok) return this.remove(id);
    // The record is gone, so the token counts for nothing already; now its index entry goes.
    await this.unbind(meta.token);
    return true;
  }
}

/**
 * Host JSON from our own projection. Only Tether writes it, from values that passed the schemas
 * at the edge, so it is trusted: no re-validation on this hot path (every heartbeat reads it).
 */
function parseHost(json: string): Host {
  return JSON.parse(json) as Host;
}

function toMeta(raw: Record<string, string>): HostMeta {
  return { v: raw.v ?? "", epoch: Number(raw.epoch ?? 0), node: raw.node ?? "", token: raw.token ?? "" };
}
