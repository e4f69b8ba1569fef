/**
 * Tether services as real child processes, for multi-node and crash tests: one service
 * (`startService`, in service.ts) or a whole stack (`startStack`, in stack.ts).
 */
export * from "./service";
export * from "./stack";
