/**
 * What detection judged one entry's content to be, as kept in the manifest for the next snapshot's history (detection/classify.ts produces it).
 * Types only (model/ imports nothing else of vouch).
 */

/** How sure a judgement is. */
export type Strength = 'strong' | 'weak' | 'none';

/** What an entry's content is, as judged. Stored in manifests so the next snapshot has history. */
export type Judgement = 'intact' | 'encrypted' | 'legit-encrypted' | 'damaged';

/** The compact record of a classification kept in the manifest, for the next snapshot's history. */
export interface ContentSummary {
  /** A ContentType (detection/content-type.ts), as written: a manifest from another version may name a type this one does not know. */
  type: string;
  /** Structure verdict status, or `none` when the type has no validator. */
  structure: 'valid' | 'invalid' | 'unsupported' | 'none';
  /** Chi-square over the sampled bytes, rounded. */
  chi2: number;
  /** Bytes the statistics sampled. */
  sampled: number;
  judgement: Judgement;
  strength: Strength;
  /** The encryption container the content is in (see containerOf), when it is in one. */
  container?: string;
  /** Ransom-note markers found in the content's head, when any (see detection/ransom-note.ts). */
  markers?: string[];
}

/** The container recorded for a member its archive stores encrypted (zip -P, zip AES): see detection/classify.ts classifyArchiveEncrypted. */
export const ARCHIVE_ENCRYPTED = 'archive-encrypted';
