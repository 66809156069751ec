/**
 * The evidence signing keys in `STATE/keys/`:
 *
 *   keys/signing-key.pem        the current ed25519 private key (PKCS#8, 0600, directory 0700)
 *   keys/public/KEYID.pem       every public key that ever signed (SPKI), so rotated-away keys
 *                               still verify the records they signed
 *   keys/signing-key.next.pem   only during a rotation (see ledger-store.ts `rotateKey`)
 *
 * A key is named by its fingerprint (SHA-256 of the SPKI DER, hex) and its id (the first 16 hex
 * digits). The key is generated on first use; callers hold the ledger's append lock, so two
 * processes never generate two keys.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { VouchError } from '../errors.js';
import { syncDirectory, writeFileAtomic } from '../fs/atomic-write.js';

/** A public key as vouch names it. */
export interface PublicKeyInfo {
  /** First 16 hex digits of the fingerprint; what records carry as `keyId`. */
  keyId: string;
  /** SHA-256 of the SPKI DER, hex. */
  fingerprint: string;
  /** SPKI PEM. */
  pem: string;
  key: KeyObject;
}

/** The current signing key. */
export interface SigningKey extends PublicKeyInfo {
  privateKey: KeyObject;
}

/** The signing key is unusable (unreadable, wrong type, readable by others). */
export class SigningKeyError extends VouchError {
  override name = 'SigningKeyError';
}

/** `STATE/keys`. */
export function keysDir(stateDir: string): string {
  return path.join(stateDir, 'keys');
}

const privatePath = (stateDir: string) => path.join(keysDir(stateDir), 'signing-key.pem');
const nextPrivatePath = (stateDir: string) => path.join(keysDir(stateDir), 'signing-key.next.pem');
const publicDir = (stateDir: string) => path.join(keysDir(stateDir), 'public');

/** Names a public key (SPKI PEM or KeyObject). Throws SigningKeyError for anything but ed25519. */
export function describePublicKey(input: string | KeyObject): PublicKeyInfo {
  let key: KeyObject;
  try {
    key =
      typeof input === 'string'
        ? createPublicKey(input)
        : input.type === 'private'
          ? createPublicKey(input)
          : input;
  } catch (error) {
    throw new SigningKeyError('not a PEM public key', { cause: error });
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw new SigningKeyError(
      `expected an ed25519 key, got ${key.asymmetricKeyType ?? 'a non-asymmetric key'}`,
    );
  const der = key.export({ type: 'spki', format: 'der' });
  const fingerprint = createHash('sha256').update(der).digest('hex');
  return {
    keyId: fingerprint.slice(0, 16),
    fingerprint,
    pem: key.export({ type: 'spki', format: 'pem' }).toString(),
    key,
  };
}

/** A fingerprint grouped for reading aloud: `3f2a 9c01 …`. */
export function formatFingerprint(fingerprint: string): string {
  return fingerprint.match(/.{1,4}/g)?.join(' ') ?? fingerprint;
}

async function readPrivateKey(file: string): Promise<SigningKey> {
  const stats = await stat(file);
  if ((stats.mode & 0o077) !== 0) {
    throw new SigningKeyError(
      `signing key ${file} is readable by others (mode ${(stats.mode & 0o777).toString(8)}); run: chmod 600 ${file}`,
    );
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(await readFile(file, 'utf8'));
  } catch (error) {
    throw new SigningKeyError(`signing key ${file} is not a PEM private key`, { cause: error });
  }
  if (privateKey.asymmetricKeyType !== 'ed25519')
    throw new SigningKeyError(`signing key ${file} is ${privateKey.asymmetricKeyType}, not ed25519`);
  return { ...describePublicKey(privateKey), privateKey };
}

async function writePublicKey(stateDir: string, info: PublicKeyInfo): Promise<void> {
  await mkdir(publicDir(stateDir), { recursive: true });
  await writeFileAtomic(path.join(publicDir(stateDir), `${info.keyId}.pem`), info.pem, 0o644);
}

async function writePrivateKey(file: string, key: KeyObject): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await chmod(path.dirname(file), 0o700);
  await writeFileAtomic(file, key.export({ type: 'pkcs8', format: 'pem' }).toString(), 0o600);
  await chmod(file, 0o600);
}

function generate(): SigningKey {
  const { privateKey } = generateKeyPairSync('ed25519');
  return { ...describePublicKey(privateKey), privateKey };
}

/** `STATE/keys/signing-key.pem`. */
export function signingKeyPath(stateDir: string): string {
  return privatePath(stateDir);
}

/** The current signing key, or null when `keys/signing-key.pem` does not exist. Call under the append lock. */
export async function loadSigningKey(stateDir: string): Promise<SigningKey | null> {
  try {
    return await readPrivateKey(privatePath(stateDir));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/**
 * Generates the signing key (0600) and stores its public key. Only for a ledger that holds no
 * signed record yet: once records are signed, a lost key is replaced through a signed record
 * (`vouch evidence rotate-key --lost`), never silently. Call under the append lock.
 */
export async function createSigningKey(stateDir: string): Promise<SigningKey> {
  const key = generate();
  await writePublicKey(stateDir, key);
  await writePrivateKey(privatePath(stateDir), key.privateKey);
  return key;
}

/** The current signing key's public part, or null before the first signed record. */
export async function currentPublicKey(stateDir: string): Promise<PublicKeyInfo | null> {
  try {
    const { privateKey: _private, ...info } = await readPrivateKey(privatePath(stateDir));
    return info;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** Every public key in `keys/public/`, by key id. Files that are not ed25519 public keys are skipped. */
export async function storedPublicKeys(stateDir: string): Promise<Map<string, PublicKeyInfo>> {
  const keys = new Map<string, PublicKeyInfo>();
  const names = await readdir(publicDir(stateDir)).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [] as string[];
    throw error;
  });
  for (const name of names.filter((entry) => entry.endsWith('.pem')).sort()) {
    try {
      const info = describePublicKey(await readFile(path.join(publicDir(stateDir), name), 'utf8'));
      keys.set(info.keyId, info);
    } catch {
      // Not a key vouch wrote: it cannot vouch for anything.
    }
  }
  return keys;
}

/** Step 1 of a rotation: a new key, its public key stored, its private key parked as `next`. */
export async function prepareNextKey(stateDir: string): Promise<SigningKey> {
  const key = generate();
  await writePublicKey(stateDir, key);
  await writePrivateKey(nextPrivatePath(stateDir), key.privateKey);
  return key;
}

/** Step 3 of a rotation (after the rotation record is on disk): the parked key becomes current. */
export async function promoteNextKey(stateDir: string): Promise<void> {
  await rename(nextPrivatePath(stateDir), privatePath(stateDir));
  await syncDirectory(keysDir(stateDir));
}

/**
 * Finishes or undoes a rotation a crash interrupted: the parked key is promoted when the ledger's
 * last rotation record names it (`rotatedTo`), else thrown away. Call under the append lock.
 */
export async function settleInterruptedRotation(stateDir: string, rotatedTo: string | null): Promise<void> {
  let parked: SigningKey;
  try {
    parked = await readPrivateKey(nextPrivatePath(stateDir));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    await rm(nextPrivatePath(stateDir), { force: true });
    return;
  }
  if (parked.keyId === rotatedTo) await promoteNextKey(stateDir);
  else await rm(nextPrivatePath(stateDir), { force: true });
}
