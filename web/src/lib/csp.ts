import { z } from "zod";

// The api serves the dashboard under a CSP without 'unsafe-eval'. zod compiles object parsers
// with `new Function` when it may, and to find out it tries once: a CSP violation reported on
// every page load. Its interpreter is fast enough for the frames a browser gets.
z.config({ jitless: true });
