/** One place a call may be sent to; a call has an ordered list of them (failover = next one). */
export interface DialTarget {
  kind: 'gateway' | 'device';
  /** Request-URI of the B leg. */
  uri: string;
  /** Next hop (`sip:host:port;transport=udp`) when it differs from the R-URI host (NAT'd device, gateway). */
  proxy?: string;
  /** User part of From / To on the B leg. */
  fromUser: string;
  toUser: string;
  /** Host part of To on the B leg. */
  toHost: string;
  headers: Record<string, string>;
  auth?: { username: string; password: string };
  trunkId?: string;
  gatewayId?: string;
  username?: string;
  // --- media-services: the target's trunk records its calls / takes only these codecs (transcoding) ---
  trunkRecord?: boolean;
  trunkCodecs?: string[];
  // --- end media-services ---
  /** For logs and status: `trunk/gateway` or `user/contact`. */
  label: string;
}
