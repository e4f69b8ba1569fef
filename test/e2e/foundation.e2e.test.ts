/** The foundation suite (foundation-suite.ts) on one Redis, as it always ran. */
import { foundationSuite } from "./foundation-suite";

foundationSuite("redis");
