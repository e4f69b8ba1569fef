/** Every scenario, in run order (`storm` kills hub A, so it goes last). */
import type { Scenario } from "../lib/scenario";
import { dispatch } from "./dispatch";
import { fanout } from "./fanout";
import { fleet } from "./fleet";
import { idle } from "./idle";
import { online } from "./online";
import { output } from "./output";
import { run } from "./run";
import { storm } from "./storm";

export const SCENARIOS: Scenario[] = [online, dispatch, output, fanout, fleet, idle, run, storm];
