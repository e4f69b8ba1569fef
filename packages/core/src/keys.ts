/**
 * Every Redis key and channel Tether uses, under `REDIS_PREFIX`. Nothing else builds a key.
 */
export function createKeys(prefix: string) {
  const p = prefix;
  return {
    prefix: p,
    /** The event log (Stream). */
    log: `${p}:log`,
    /** Random id created with the log; changes when Redis lost the log. */
    logEpoch: `${p}:log:epoch`,
    /** Pub/Sub: every fleet event, as the browser frame (doorbell, never the record). */
    eventsChannel: `${p}:events`,
    /** Pub/Sub: cluster-wide control messages (logout, …). */
    controlChannel: `${p}:control`,
    /** Pub/Sub: messages for the hub holding this host's agent (commands, cancel, replace, revoke). */
    hostChannel: (hostId: string) => `${p}:host-ch:${hostId}`,
    /** Hash id → host JSON (the public projection). */
    hosts: `${p}:hosts`,
    /** Hash of a host's private state: v (version), epoch, node, token (hash). */
    hostMeta: (hostId: string) => `${p}:host:${hostId}`,
    /** Hash token hash → host id. */
    tokens: `${p}:tokens`,
    /** Hash id → command JSON (projection). */
    commands: `${p}:commands`,
    /** Hash of a command's private state: next_seq. */
    commandMeta: (commandId: string) => `${p}:cmd:${commandId}`,
    /** List of a command's output chunks (JSON), in seq order. */
    commandOutput: (commandId: string) => `${p}:cmd:${commandId}:out`,
    /** Sorted set of a host's commands, scored by creation time. */
    hostCommands: (hostId: string) => `${p}:host:${hostId}:cmds`,
    /** Sorted set of a host's unfinished commands, in dispatch order. */
    hostPending: (hostId: string) => `${p}:host:${hostId}:pending`,
    /** v1's users: hash username → user JSON (with password hash); migrated at start, then deleted. */
    legacyUsers: `${p}:users`,
    /** Hash user id → user record JSON (role, teams, password hash): the one store of rights. */
    userRecords: `${p}:user-records`,
    /** Hash username → user id. */
    usernames: `${p}:usernames`,
    /** Set of the ids of admin users (the last one cannot go). */
    admins: `${p}:admins`,
    /** Hash team id → team JSON. */
    teams: `${p}:teams`,
    /** Hash host id → team id: what the append scripts read to address an event to its team. */
    hostTeams: `${p}:host-teams`,
    /** Hash API token id → token record JSON (hash, owner, role, expiry). */
    apiTokens: `${p}:api-tokens`,
    /** Hash sha256(API token) → token id. */
    apiTokenIndex: `${p}:api-token-index`,
    /** Set of a user's API token ids (removed with the user). */
    userApiTokens: (userId: string) => `${p}:user:${userId}:api-tokens`,
    /** The audit log (Stream), trimmed by age only. */
    audit: `${p}:audit`,
    /** express-session store prefix (connect-redis). */
    sessionPrefix: `${p}:sess:`,
    session: (sid: string) => `${p}:sess:${sid}`,
    /**
     * Sorted set of a session's open browser sockets on every hub (`node:socket`), scored by when
     * each claim lapses unless its hub refreshes it: a hub killed with -9 stops refreshing, so its
     * sockets stop counting on their own. Outside `sessionPrefix`, which is connect-redis's.
     */
    sessionSockets: (sid: string) => `${p}:sockets:sess:${sid}`,
    /** Set of hub node ids that ever announced themselves and were not swept. */
    hubs: `${p}:hubs`,
    /** A hub's liveness key (TTL). */
    hubAlive: (nodeId: string) => `${p}:hub:${nodeId}:alive`,
    /** Hash host id → connection epoch of the agents a hub holds. */
    hubHosts: (nodeId: string) => `${p}:hub:${nodeId}:hosts`,
    /** Login rate limiter prefix. */
    loginLimit: `${p}:rl:login:`,
    /** Hash id → run JSON as of its latest `run_update` (CONTRACT §6). */
    runs: `${p}:runs`,
    /** Sorted set of run ids by creation time (the runs list, newest first). */
    runsByTime: `${p}:runs:by-time`,
    /** Set of runs with a change not yet acted on (released, reported); the worker's sweep finishes the job of a process that died. */
    runsDirty: `${p}:runs:dirty`,
    /** Hash of a run's control state: status, next (index of the next command to release), total, max_parallel, stop, cancelled, reported, last_update. */
    runMeta: (runId: string) => `${p}:run:${runId}`,
    /** Hash of a run's counts by command status, plus `active` (released, not final) and `changes` (bumped by every count change). */
    runCounts: (runId: string) => `${p}:run:${runId}:counts`,
    /** List of a run's command ids, in creation (release) order. */
    runCommands: (runId: string) => `${p}:run:${runId}:cmds`,
    /** BullMQ prefix (queues live under it). */
    bullPrefix: `${p}:bull`,
  };
}
export type Keys = ReturnType<typeof createKeys>;

/** BullMQ queue names. */
export const QueueName = { PRESENCE: "presence", COMMANDS: "commands", RUNS: "runs" } as const;
