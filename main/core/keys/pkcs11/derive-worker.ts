/**
 * ECDH on the token, run in a worker thread. On a YubiKey with a touch policy C_DeriveKey blocks
 * until the key is touched (or times out after ~15 s), so it must not run on the main thread.
 *
 * The worker loads the same PKCS#11 library into the same process (dlopen returns the already
 * loaded copy, initialised with CKF_OS_LOCKING_OK by the main thread), and uses the session and key
 * handles the main thread opened: PKCS#11 handles are process-wide. It does not initialise or
 * finalise the library. The worker source is inline so it runs unchanged under Node, the
 * bundled app and the test runner.
 */
import { Worker } from 'node:worker_threads';
import { pkcs11jsPath } from './lib';

export interface DeriveRequest {
  readonly libraryPath: string;
  readonly session: Uint8Array;
  readonly privateKey: Uint8Array;
  /** Raw uncompressed peer points (65 bytes each: 0x04 ‖ X ‖ Y); ykcs11 rejects DER-wrapped points. */
  readonly peerPoints: readonly Uint8Array[];
}

/** `threadId` is the worker's (never 0, the main thread's): the derive did not block the event loop. */
export type DeriveResult = { ok: true; secrets: Uint8Array[]; threadId: number } | { ok: false; name: string; message: string; code: number; threadId: number };

const WORKER_SOURCE = `
'use strict';
const { parentPort, workerData, threadId } = require('node:worker_threads');
const p = require(workerData.pkcs11js);
const m = new p.PKCS11();
let loaded = false;
let result;
try {
  m.load(workerData.libraryPath);
  loaded = true;
  const session = Buffer.from(workerData.session);
  const key = Buffer.from(workerData.privateKey);
  const full = [
    { type: p.CKA_CLASS, value: p.CKO_SECRET_KEY },
    { type: p.CKA_KEY_TYPE, value: p.CKK_GENERIC_SECRET },
    { type: p.CKA_TOKEN, value: false },
    { type: p.CKA_SENSITIVE, value: false },
    { type: p.CKA_EXTRACTABLE, value: true },
    { type: p.CKA_VALUE_LEN, value: 32 },
  ];
  // Some modules reject attributes they set themselves; retry with the minimal session-only template.
  const minimal = full.slice(0, 3);
  const secrets = [];
  for (const point of workerData.peerPoints) {
    const mech = { mechanism: p.CKM_ECDH1_DERIVE, parameter: { type: p.CK_PARAMS_EC_DH, kdf: p.CKD_NULL, publicData: Buffer.from(point) } };
    let derived;
    try {
      derived = m.C_DeriveKey(session, mech, key, full);
    } catch (e) {
      if (!/CKR_(TEMPLATE_INCONSISTENT|TEMPLATE_INCOMPLETE|ATTRIBUTE_TYPE_INVALID|ATTRIBUTE_VALUE_INVALID|ATTRIBUTE_READ_ONLY)/.test(String(e && e.message))) throw e;
      derived = m.C_DeriveKey(session, mech, key, minimal);
    }
    try {
      const value = m.C_GetAttributeValue(session, derived, [{ type: p.CKA_VALUE }])[0].value;
      secrets.push(new Uint8Array(value));
      value.fill(0);
    } finally {
      try { m.C_DestroyObject(session, derived); } catch (e) { /* session objects vanish with the session anyway */ }
    }
  }
  result = { ok: true, secrets, threadId };
} catch (e) {
  result = { ok: false, name: String(e && e.name), message: String(e && e.message), code: Number(e && e.code) || 0, threadId };
}
// Release this thread's reference to the library before reporting: after postMessage the main
// thread may finalise the module, and nothing of the library may run here after that.
if (loaded) { try { m.close(); } catch (e) { /* ignore */ } }
parentPort.postMessage(result);
`;

/** Runs C_DeriveKey(CKM_ECDH1_DERIVE, CKD_NULL) for each peer point in a worker thread and returns the raw shared secrets. */
export function deriveInWorker(req: DeriveRequest): Promise<DeriveResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        pkcs11js: pkcs11jsPath(),
        libraryPath: req.libraryPath,
        session: req.session,
        privateKey: req.privateKey,
        peerPoints: req.peerPoints,
      },
    });
    let settled = false;
    worker.once('message', (msg: DeriveResult) => {
      settled = true;
      resolve(msg);
      // The worker ends by itself right after posting; terminating it could interrupt native code.
    });
    worker.once('error', (e) => {
      if (!settled) {
        settled = true;
        reject(e);
      }
    });
    worker.once('exit', (code) => {
      if (!settled) {
        settled = true;
        reject(new Error(`the token worker exited unexpectedly (code ${code})`));
      }
    });
  });
}
