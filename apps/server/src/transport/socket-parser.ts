import * as parser from 'socket.io-parser';
import { MAX_NEIGHBOURS } from '@chorus/core';

/**
 * Binary attachments one Socket.IO message may carry. socket.io-parser refuses more than 10 and
 * closes the connection; a secure round's neighbour keys carry two per neighbour (up to
 * 2 × MAX_NEIGHBOURS), so with more than five neighbours every participant was cut off. The
 * message size stays bounded by maxHttpBufferSize. The client's socket uses the same limit.
 */
export const MAX_SOCKET_ATTACHMENTS = 2 * MAX_NEIGHBOURS + 8;

class ChorusDecoder extends parser.Decoder {
  constructor() {
    super({ maxAttachments: MAX_SOCKET_ATTACHMENTS });
  }
}

/** socket.io-parser with the attachment limit above (Socket.IO's `parser` option). */
export const chorusSocketParser = { ...parser, Decoder: ChorusDecoder };
