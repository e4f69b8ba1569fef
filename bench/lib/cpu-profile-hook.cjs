/**
 * Preloaded into a hub with NODE_OPTIONS="--require <this file>" (Node 20 refuses --cpu-prof in
 * NODE_OPTIONS, and the test harness owns the hub's command line). SIGUSR2 starts the V8 CPU
 * profiler (what --cpu-prof uses), the next SIGUSR2 stops it and writes
 * <CPU_PROFILE_DIR>/hub-<pid>-<n>.cpuprofile, so a profile covers exactly the measured phase;
 * a profile still running at exit is written then. Plain CommonJS: it loads before tsx does.
 */
"use strict";
const { writeFileSync } = require("node:fs");
const { Session } = require("node:inspector");
const path = require("node:path");

const dir = process.env.CPU_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post("Profiler.enable");
  session.post("Profiler.setSamplingInterval", { interval: 500 });
  let running = false;
  let n = 0;
  // The in-process inspector session answers synchronously, so this also works in 'exit'.
  const stop = () => {
    if (!running) return;
    running = false;
    n += 1;
    session.post("Profiler.stop", (err, result) => {
      if (!err) writeFileSync(path.join(dir, `hub-${process.pid}-${n}.cpuprofile`), JSON.stringify(result.profile));
    });
  };
  process.on("SIGUSR2", () => {
    if (running) return stop();
    running = true;
    session.post("Profiler.start");
  });
  process.on("exit", stop);
}
