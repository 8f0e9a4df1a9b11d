/**
 * One participant's whole SecAgg+ round, timed stage by stage, against real neighbours (their keys
 * and sealed shares made by real SecAggParticipants). Pure @chorus/core: the same module runs in
 * Node and, bundled, in a Chromium worker (bench/secagg.ts).
 */
import { SecAggParticipant, SecAggServer, type SecAggSetupInput } from '@chorus/core';

export interface ClientTiming {
  readonly clientMs: number;
  readonly stageMs: { advertise: number; share: number; mask: number; unmask: number; setup: number };
  readonly bytesUp: number;
  readonly bytesDown: number;
  readonly bitsPerCoordinate: number;
}

const idBytes = 4;

/**
 * Participant 1 of a round with `neighbours + 1` participants (so it has exactly `neighbours`),
 * The neighbours beyond the threshold leave after sharing keys, so participant 1 is asked for both
 * kinds of share (and the neighbours' own masking, which is not timed, costs half as much).
 */
export async function timeOneClient(params: { length: number; neighbours: number; threshold: number; seed: Uint8Array<ArrayBuffer> }): Promise<ClientTiming> {
  const setup: SecAggSetupInput = {
    roundId: 'bench-client',
    participants: params.neighbours + 1,
    neighbours: params.neighbours,
    threshold: params.threshold,
    seed: params.seed,
    length: params.length,
    clipNorm: 1,
    maxWeight: 1000,
  };
  const server = await SecAggServer.create(setup);
  const others = await Promise.all(Array.from({ length: params.neighbours }, (_, i) => SecAggParticipant.create(setup, i + 2)));
  const update = Float32Array.from({ length: params.length }, (_, i) => Math.sin(i) * 1e-3);

  let t = performance.now();
  const me = await SecAggParticipant.create(setup, 1);
  const setupMs = performance.now() - t;
  t = performance.now();
  const adv = await me.advertise();
  const advertiseMs = performance.now() - t;
  server.receiveAdvertise(adv);
  for (const p of others) server.receiveAdvertise(await p.advertise());
  const keys = server.closeAdvertise();
  t = performance.now();
  const myShares = await me.shareKeys(keys.get(1)!);
  const shareMs = performance.now() - t;
  server.receiveShares(myShares);
  for (const p of others) server.receiveShares(await p.shareKeys(keys.get(p.id)!));
  const incoming = server.closeShares();
  t = performance.now();
  const masked = await me.maskedInput(incoming.get(1)!, update, 100);
  const maskMs = performance.now() - t;
  server.receiveMasked(masked);
  // Neighbours that stay send masked input too (an all-zero ring input, masked for real).
  const stay = others.slice(0, params.threshold);
  for (const p of stay) server.receiveMasked(await p.maskRing(incoming.get(p.id)!, new Uint32Array(server.shape.maskedLength)));
  const requests = server.closeMasked();
  t = performance.now();
  const answer = await me.unmask(requests.get(1)!);
  const unmaskMs = performance.now() - t;

  const keyBytes = (k: { maskPublicKey: Uint8Array; sharePublicKey: Uint8Array }) => idBytes + k.maskPublicKey.length + k.sharePublicKey.length;
  const up =
    keyBytes(adv) + adv.seedCommitment.length +
    myShares.shares.reduce((a, s) => a + idBytes + s.sealed.length, idBytes) +
    masked.masked.length + idBytes +
    [...answer.seedShares, ...answer.keyShares].reduce((a, s) => a + idBytes + s.share.length, idBytes);
  const req = requests.get(1)!;
  const down =
    keys.get(1)!.keys.reduce((a, k) => a + keyBytes(k), 0) +
    incoming.get(1)!.shares.reduce((a, s) => a + idBytes + s.sealed.length, 0) +
    (req.survivors.length + req.dropped.length) * idBytes;
  return {
    clientMs: setupMs + advertiseMs + shareMs + maskMs + unmaskMs,
    stageMs: { setup: setupMs, advertise: advertiseMs, share: shareMs, mask: maskMs, unmask: unmaskMs },
    bytesUp: up,
    bytesDown: down,
    bitsPerCoordinate: server.shape.ringBits,
  };
}
