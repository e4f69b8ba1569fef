export { createWorker, type TetherWorker, type WorkerDeps } from "./worker";
