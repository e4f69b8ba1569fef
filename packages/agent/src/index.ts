/** The Tether reference agent, as a library: tests and wrappers run it in-process. */
export { createAgent, scrubEnv, type Agent, type AgentDeps } from "./agent";
export { loadConfig, ConfigError, AgentConfigSchema, type AgentConfig } from "./config";
export { createLog, type Log } from "./log";
export { ExitCode } from "./connection";
