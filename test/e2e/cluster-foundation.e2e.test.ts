/**
 * The foundation suite (foundation-suite.ts) on a real 3-master Redis Cluster with LOG_PARTITIONS=8, one
 * cluster for the file (issue 16 point 6: the e2e scenarios run on a cluster besides one Redis).
 */
import { foundationSuite } from "./foundation-suite";

foundationSuite("cluster");
