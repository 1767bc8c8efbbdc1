/**
 * Every port the platform uses on AWS, in one place. Constructs take security-group rules and rendered daemon
 * configs from here; runtime defaults may import the same numbers (type-free constants only).
 */

/** Signalling + REST (fastify + socket.io) behind the ALB. */
export const SIGNALLING_HTTP_PORT = 8080;
/** ALB listener that CloudFront talks to (HTTP; TLS terminates at CloudFront). */
export const ALB_HTTP_PORT = 80;
/** Internal ALB listener: SBC → signalling (/internal/*, gateway events). */
export const SIGNALLING_INTERNAL_PORT = 8081;

/** SIP over UDP and TCP. */
export const SIP_PORT = 5060;
/** SIP over TLS. */
export const SIP_TLS_PORT = 5061;
/** SIP over secure WebSocket (drachtio `wss` contact). */
export const SIP_WSS_PORT = 8443;
/** drachtio-server admin port: bound to 127.0.0.1 only, never in a security group. */
export const DRACHTIO_ADMIN_PORT = 9022;
/** drachtio-server Prometheus scrape port (loopback only). */
export const DRACHTIO_PROMETHEUS_PORT = 9090;
/** Private control API of the SBC runtime, reachable only from the signalling tier. */
export const SBC_CONTROL_PORT = 8090;

/**
 * RTP endpoints of the SBC's programmable-voice engine (docs/voice.md): one even port per voice leg, reachable only
 * from the media tier (rtpengine anchors every party and relays to the endpoint over the VPC).
 */
export const VOICE_RTP_PORT_MIN = 41000;
export const VOICE_RTP_PORT_MAX = 44999;

/** rtpengine ng control protocol (UDP), reachable only from the SBC tier. */
export const RTPENGINE_NG_PORT = 22222;
/** rtpengine CLI (TCP, loopback only). */
export const RTPENGINE_CLI_PORT = 22223;
/** rtpengine HTTP (`/metrics`, `/cli`), loopback only; scraped by the CloudWatch agent. */
export const RTPENGINE_HTTP_PORT = 22224;
/** RTP/RTCP media range on AWS media nodes (4 ports per plain call leg pair ⇒ ~5,000 calls per node). */
export const RTP_PORT_MIN = 40000;
export const RTP_PORT_MAX = 59999;

/** TURN/STUN over UDP and TCP. */
export const TURN_PORT = 3478;
/** TURN over TLS (and DTLS on UDP). */
export const TURN_TLS_PORT = 5349;
/** TURN over TLS on 443, for clients behind firewalls that only allow HTTPS. */
export const TURN_TLS_ALT_PORT = 443;
/** coturn relay range. Must not contain the listening ports. */
export const TURN_RELAY_PORT_MIN = 49160;
export const TURN_RELAY_PORT_MAX = 59999;

/** Valkey/Redis (ElastiCache) for the socket.io adapter; non-default on purpose. */
export const CACHE_PORT = 6380;
