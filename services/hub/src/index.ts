export { createHub, WS_PATH, type Hub, type HubDeps } from "./hub";
