/** A file the program left in its work dir that the request asked back for. */
export interface Artifact {
  path: string;
  size: number;
  encoding: 'base64';
  content: string;
}

/** A matching path that was not returned, and why (a link, a device, over the size budget, …). */
export interface SkippedArtifact {
  path: string;
  reason: string;
}

export interface ArtifactCollection {
  artifacts: Artifact[];
  skipped: SkippedArtifact[];
}
