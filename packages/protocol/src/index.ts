export * from "./common";
export * from "./codes";
export * from "./frames";
export * from "./rest";
