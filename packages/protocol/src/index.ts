export * from "./common";
export * from "./codes";
export * from "./frames";
export * from "./ids";
export * from "./rest";
export * from "./responses";
export * from "./runs";
