/**
 * The Node gateway's webhook sender: node:http(s) with the SSRF checks done where they hold.
 * The host name is resolved once (dns.lookup, every address); if ANY address is not public the
 * message is refused (a name with one public and one private address could be steered to the
 * private one); the connection then goes to the address that was checked, not to a second
 * resolution, so DNS rebinding (a short TTL answering a public address to the check and
 * 127.0.0.1 to the connect) cannot swap it. TLS still verifies the certificate against the host
 * name (SNI and checkServerIdentity use `servername`). No redirects (node:http never follows
 * them), one timeout for the whole exchange, at most maxResponseBytes of the answer read.
 */
import * as dns from 'node:dns';
import * as http from 'node:http';
import * as https from 'node:https';
import { deliveryLimits, statusResult, WEBHOOK_USER_AGENT, type WebhookDelivery, type WebhookDeliveryResult, type WebhookSender } from './deliver.ts';
import { checkWebhookUrl, refuseAddress, type WebhookTargetPolicy } from './target.ts';

export interface ResolvedAddress {
  readonly address: string;
  readonly family: number;
}

/** Resolves a host name to every address (dns.lookup: /etc/hosts and the system resolver, as a connect would). */
export type HostResolver = (hostname: string) => Promise<readonly ResolvedAddress[]>;

export const systemResolver: HostResolver = (hostname) => dns.promises.lookup(hostname, { all: true, verbatim: true });

/**
 * The address to connect to for a checked URL host: the literal IP, or the first address the name
 * resolves to once every one of them passed the policy. Throws an Error naming the refused address.
 */
export async function resolveWebhookHost(
  target: { hostname: string; ip: string | null },
  policy: WebhookTargetPolicy,
  resolve: HostResolver = systemResolver,
): Promise<ResolvedAddress> {
  if (target.ip !== null) return { address: target.ip, family: target.ip.includes(':') ? 6 : 4 };
  const addresses = await resolve(target.hostname);
  if (addresses.length === 0) throw new Error(`${target.hostname} resolves to no address`);
  for (const a of addresses) {
    const refused = refuseAddress(a.address, policy);
    if (refused) throw new RefusedAddressError(`${target.hostname} resolves to ${refused}`);
  }
  return addresses[0];
}

export class RefusedAddressError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RefusedAddressError';
  }
}

export interface NodeSenderOptions {
  /** How host names are resolved (tests stand in a resolver for DNS; default: dns.lookup). */
  readonly resolve?: HostResolver;
  /** Certificates to trust instead of Node's CA store (PEM): a test CA, or an operator's private PKI. */
  readonly ca?: string | readonly string[];
}

/** A WebhookSender for Node: see the module comment for what it guarantees. */
export function nodeSender(options: NodeSenderOptions = {}): WebhookSender {
  const resolve = options.resolve ?? systemResolver;
  return async (delivery) => {
    const limits = deliveryLimits(delivery);
    if ('ok' in limits) return limits;
    const policy = { allowPrivate: delivery.allowPrivate };
    const target = checkWebhookUrl(delivery.url, policy);
    if (!target.ok) return { ok: false, failure: 'refused', error: `webhook url ${target.reason}` };
    const deadline = Date.now() + limits.timeoutMs;
    let pinned: ResolvedAddress;
    try {
      pinned = await withTimeout(resolveWebhookHost(target, policy, resolve), limits.timeoutMs);
    } catch (error) {
      if (error instanceof RefusedAddressError) return { ok: false, failure: 'refused', error: error.message };
      if (error instanceof TimeoutError) return { ok: false, failure: 'timeout', error: `resolving ${target.hostname} took over ${limits.timeoutMs} ms` };
      return { ok: false, failure: 'network', error: `resolving ${target.hostname}: ${error instanceof Error ? error.message : String(error)}` };
    }
    return post(delivery, target.url, target.ip === null ? target.hostname : null, pinned, Math.max(1, deadline - Date.now()), { ...limits, ca: options.ca });
  };
}

/** The Node sender with the system resolver. */
export const sendWebhook: WebhookSender = nodeSender();

class TimeoutError extends Error {}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError()), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function post(
  delivery: WebhookDelivery,
  url: URL,
  servername: string | null,
  pinned: ResolvedAddress,
  timeoutMs: number,
  limits: { maxResponseBytes: number; ca?: string | readonly string[] },
): Promise<WebhookDeliveryResult> {
  return new Promise((done) => {
    let settled = false;
    let status: number | undefined;
    let location: string | null = null;
    let bytes = 0;
    const head: Buffer[] = [];
    let headBytes = 0;
    const finish = (result: WebhookDeliveryResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      done(result);
    };
    const fromStatus = () => statusResult(status!, location, Buffer.concat(head).toString('utf8'), bytes);

    const headers: Record<string, string | number> = { 'content-type': 'application/json', 'user-agent': WEBHOOK_USER_AGENT };
    for (const [name, value] of Object.entries(delivery.headers)) if (name.toLowerCase() !== 'host') headers[name.toLowerCase()] = value;
    headers.host = url.host;
    headers['content-length'] = Buffer.byteLength(delivery.body);
    const secure = url.protocol === 'https:';
    const requestOptions: https.RequestOptions = {
      method: 'POST',
      // The checked address, never the name again: no second lookup that DNS could answer differently.
      host: pinned.address,
      family: pinned.family,
      port: url.port === '' ? (secure ? 443 : 80) : Number(url.port),
      path: `${url.pathname}${url.search}`,
      headers,
      agent: false,
    };
    // Certificates are checked against the host name (an IP URL has no SNI).
    if (secure && servername !== null) requestOptions.servername = servername;
    if (secure && limits.ca !== undefined) requestOptions.ca = typeof limits.ca === 'string' ? limits.ca : [...limits.ca];
    const req = (secure ? https : http).request(requestOptions, (res) => {
      status = res.statusCode ?? 0;
      location = typeof res.headers.location === 'string' ? res.headers.location : null;
      res.on('data', (chunk: Buffer) => {
        const take = chunk.subarray(0, limits.maxResponseBytes - bytes);
        if (headBytes < 512) {
          head.push(take.subarray(0, 512 - headBytes));
          headBytes += Math.min(take.length, 512 - headBytes);
        }
        bytes += take.length;
        // Enough: the status is known and the rest of a long answer is not ours to download.
        if (bytes >= limits.maxResponseBytes) finish(fromStatus());
      });
      res.on('end', () => finish(fromStatus()));
      res.on('error', () => finish(fromStatus()));
      res.on('close', () => finish(fromStatus()));
    });
    const timer = setTimeout(() => {
      // Once the receiver has answered, its status stands; a body that never ends changes nothing.
      finish(status !== undefined ? fromStatus() : { ok: false, failure: 'timeout', error: `no answer within ${timeoutMs} ms` });
    }, timeoutMs);
    req.on('error', (error) => {
      if (status !== undefined) return finish(fromStatus());
      finish({ ok: false, failure: 'network', error: `${url.host} (${pinned.address}): ${error.message}` });
    });
    req.end(delivery.body);
  });
}
