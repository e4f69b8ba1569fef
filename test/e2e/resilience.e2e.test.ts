/** The resilience suite (resilience-suite.ts) on one Redis, as it always ran. */
import { resilienceSuite } from "./resilience-suite";

resilienceSuite("redis");
