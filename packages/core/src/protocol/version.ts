/** Bumped on any incompatible change to the messages below or to the payload format. */
export const PROTOCOL_VERSION = 1;
