// A signer for Outpost run requests written from crates/agent/PROTOCOL.md alone, with
// Node's own Ed25519: if the real agent runs what this signs, the document is enough for a
// third party. (Test code: keys live in memory here; the desktop app keeps them in the OS
// keyring.)
import crypto from 'node:crypto';

const DOMAIN = {
  certificate: 'outpost/technician-certificate/v1\0',
  run: 'outpost/run-request/v1\0',
};

class Writer {
  parts = [];
  u8(v) {
    this.parts.push(Buffer.from([v]));
    return this;
  }
  u32(v) {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v);
    this.parts.push(b);
    return this;
  }
  u64(v) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(v));
    this.parts.push(b);
    return this;
  }
  i64(v) {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(BigInt(v));
    this.parts.push(b);
    return this;
  }
  fixed(buf) {
    this.parts.push(Buffer.from(buf));
    return this;
  }
  uuid(text) {
    return this.fixed(Buffer.from(text.replaceAll('-', ''), 'hex'));
  }
  bytes(buf) {
    this.u32(buf.length);
    return this.fixed(buf);
  }
  str(text) {
    return this.bytes(Buffer.from(text, 'utf8'));
  }
  done() {
    return Buffer.concat(this.parts);
  }
}

/** A fresh Ed25519 key: the private KeyObject and the raw 32-byte public key. */
export function newKey() {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x, 'base64url');
  return { privateKey, raw };
}

/** SHA-256 of the key, lowercase hex in groups of four. */
export function fingerprint(raw) {
  const hex = crypto.createHash('sha256').update(raw).digest('hex');
  return hex.match(/.{4}/g).join(':');
}

function signed(domain, body, key) {
  const signature = crypto.sign(null, Buffer.concat([Buffer.from(domain, 'ascii'), body]), key.privateKey);
  return { body: body.toString('base64'), signature: signature.toString('base64') };
}

/** A technician certificate, signed by `root`, for every client. */
export function certify(root, tech, { userId, name, days = 30 }) {
  const now = Math.floor(Date.now() / 1000);
  const serial = crypto.randomUUID();
  const body = new Writer()
    .uuid(serial)
    .fixed(root.raw)
    .fixed(tech.raw)
    .uuid(userId)
    .str(name)
    .i64(now - 60)
    .i64(now + days * 86400)
    .u8(0)
    .done();
  return { serial, certificate: signed(DOMAIN.certificate, body, root) };
}

/** A signed run request (text parameters only), ready for POST /api/v1/runs. */
export function signRun(tech, cert, { agentId, clientId, scriptId, version, body, interpreter, parameters = {}, timeout = 60, notBefore, notAfter }) {
  const now = Math.floor(Date.now() / 1000);
  const runId = crypto.randomUUID();
  const w = new Writer()
    .uuid(runId)
    .fixed(crypto.randomBytes(16))
    .uuid(agentId)
    .uuid(clientId)
    .uuid(scriptId)
    .u32(version)
    .fixed(crypto.createHash('sha256').update(body, 'utf8').digest())
    .str(interpreter)
    .u32(Object.keys(parameters).length);
  for (const [name, value] of Object.entries(parameters)) w.str(name).u8(0).str(String(value));
  const request = w
    .u32(timeout)
    .i64(notBefore ?? now - 10)
    .i64(notAfter ?? now + 3600)
    .u64(0)
    .u8(0)
    .uuid(cert.serial)
    .done();
  return { runId, signed: { request: signed(DOMAIN.run, request, tech), certificate: cert.certificate, approvals: [] } };
}
