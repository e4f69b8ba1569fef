import helmet from "helmet";
import type { RequestHandler } from "express";

/**
 * Security headers on every api response (helmet): a CSP the built dashboard runs under with
 * nothing inline (its script and stylesheet are files; Lit's styles are constructed stylesheets,
 * which CSP does not govern), no framing, no MIME sniffing. `upgrade-insecure-requests` is left
 * out: TLS ends at the load balancer, and on plain http (npm start, a LAN) it would turn the
 * dashboard's own ws:// into wss:// and break it.
 */
export function securityHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        // The favicon is a data: URL in index.html.
        imgSrc: ["'self'", "data:"],
        objectSrc: ["'none'"],
        scriptSrc: ["'self'"],
        scriptSrcAttr: ["'none'"],
        styleSrc: ["'self'"],
        // The dashboard's socket is same-origin `/ws` ('self' covers ws: and wss: there).
        connectSrc: ["'self'"],
      },
    },
    frameguard: { action: "deny" },
    referrerPolicy: { policy: "no-referrer" },
  });
}
