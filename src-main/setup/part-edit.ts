// Setup changes one part of each file it touches: HexHub's marked block in a shell startup
// file, or the mirror_url entry in hex.config. The rest of those files often holds tokens and
// API keys, so what is shown to the user (diffs, API answers) is built from that part alone.

export interface PartEdit {
  /** The whole file after the change: written, never shown. */
  text: string;
  /** The part as it was (null: not there yet) and as it will be. */
  partBefore: string | null;
  partAfter: string;
}
