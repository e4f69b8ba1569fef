/** The commands suite (commands-suite.ts) on one Redis, as it always ran. */
import { commandsSuite } from "./commands-suite";

commandsSuite("redis");
