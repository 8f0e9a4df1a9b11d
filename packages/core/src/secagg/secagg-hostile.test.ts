import { describe, expect, it } from 'vitest';
import { SecAggError, type SecAggReason } from './secagg-error.js';
import { SecAggParticipant } from './secagg-participant.js';
import { SecAggServer } from './secagg-server.js';
import { secAggShape, type SecAggSetupInput } from './secagg-params.js';
import { unpackRing } from './ring-packing.js';
import { createParticipants, runToUnmasking, someIds } from './secagg-round.test-helper.js';

const seed = Uint8Array.from({ length: 32 }, (_, i) => 255 - i);
const setup: SecAggSetupInput = { roundId: 'r-hostile', participants: 10, neighbours: 6, threshold: 4, seed, length: 64, clipNorm: 1, maxWeight: 10 };
const shape = secAggShape(setup);
const zero = () => ({ ring: new Uint32Array(shape.maskedLength) });

async function refusal(work: () => unknown): Promise<SecAggReason> {
  try {
    await work();
  } catch (err) {
    expect(err).toBeInstanceOf(SecAggError);
    return (err as SecAggError).reason;
  }
  throw new Error('expected a refusal');
}

/** A server and participants that have gone through advertise and share, ready for stage 3. */
async function atMaskStage() {
  const server = await SecAggServer.create(setup);
  const people = await createParticipants(setup);
  for (const p of people) server.receiveAdvertise(await p.advertise());
  const keys = server.closeAdvertise();
  const shared = new Map<number, Awaited<ReturnType<SecAggParticipant['shareKeys']>>>();
  for (const p of people) {
    const msg = await p.shareKeys(keys.get(p.id)!);
    shared.set(p.id, msg);
    server.receiveShares(msg);
  }
  return { server, people, keys, shared, incoming: server.closeShares() };
}

describe('SecAgg+ server refuses hostile messages with typed errors and goes on', () => {
  it('a replayed key, a replayed advertisement, an unknown id, a malformed key', async () => {
    const server = await SecAggServer.create(setup);
    const [a, b] = await createParticipants(setup);
    const adv = await a!.advertise();
    server.receiveAdvertise(adv);
    expect(await refusal(() => server.receiveAdvertise(adv))).toBe('REPLAYED');
    expect(await refusal(async () => server.receiveAdvertise({ ...(await b!.advertise()), maskPublicKey: adv.maskPublicKey }))).toBe('REPLAYED');
    expect(await refusal(() => server.receiveAdvertise({ ...adv, id: 11 }))).toBe('UNKNOWN_ID');
    expect(await refusal(() => server.receiveAdvertise({ ...adv, id: 3, maskPublicKey: new Uint8Array(31) }))).toBe('MALFORMED');
    expect(await refusal(() => server.receiveAdvertise({ id: 3 }))).toBe('MALFORMED');
    expect(await refusal(() => server.receiveShares({ id: 1, shares: [] }))).toBe('WRONG_STAGE');
  });

  it('wrong share count, shares for unknown ids, duplicate receivers; the round still completes', async () => {
    const server = await SecAggServer.create(setup);
    const people = await createParticipants(setup);
    for (const p of people) server.receiveAdvertise(await p.advertise());
    const keys = server.closeAdvertise();
    const msgs = await Promise.all(people.map((p) => p.shareKeys(keys.get(p.id)!)));
    const bad = msgs[0]!;
    const outsider = [...Array(10).keys()].map((i) => i + 1).find((j) => j !== 1 && !keys.get(1)!.keys.some((k) => k.id === j))!;
    expect(await refusal(() => server.receiveShares({ ...bad, shares: bad.shares.slice(1) }))).toBe('WRONG_SHARE_COUNT');
    expect(await refusal(() => server.receiveShares({ ...bad, shares: [...bad.shares.slice(1), { ...bad.shares[0]!, to: outsider }] }))).toBe('UNKNOWN_ID');
    expect(await refusal(() => server.receiveShares({ ...bad, shares: [...bad.shares.slice(1), bad.shares[1]!] }))).toBe('WRONG_SHARE_COUNT');
    // Participant 1 never got a valid message in: it is left out, everyone else goes on.
    for (const m of msgs.slice(1)) server.receiveShares(m);
    const incoming = server.closeShares();
    expect(incoming.has(1)).toBe(false);
    for (const p of people.slice(1)) server.receiveMasked(await p.maskRing(incoming.get(p.id)!, new Uint32Array(shape.maskedLength)));
    const requests = server.closeMasked();
    for (const p of people.slice(1)) server.receiveUnmasking(await p.unmask(requests.get(p.id)!));
    const { sum, survivors } = await server.unmask();
    expect(survivors).toHaveLength(9);
    expect(Array.from(sum, (v) => v & (2 ** shape.ringBits - 1)).every((v) => v === 0)).toBe(true);
  });

  it('masked input of the wrong size, from someone not in the round, or twice', async () => {
    const { server, people, incoming } = await atMaskStage();
    const msg = await people[0]!.maskRing(incoming.get(1)!, new Uint32Array(shape.maskedLength));
    expect(await refusal(() => server.receiveMasked({ ...msg, masked: msg.masked.slice(1) }))).toBe('MALFORMED');
    expect(await refusal(() => server.receiveMasked({ ...msg, id: 0 }))).toBe('MALFORMED');
    server.receiveMasked(msg);
    expect(await refusal(() => server.receiveMasked(msg))).toBe('REPLAYED');
  });

  it('unmasking answers with shares other than those asked for', async () => {
    const { server: s2, participants } = await runToUnmasking(setup, zero, { unmask: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] });
    expect(s2.stage).toBe('unmask');
    // Participant 2 answers participant 1's request (right shapes, wrong ids).
    const requests = (s2 as unknown as { unmaskingSentTo: Map<number, { survivors: number[]; dropped: number[] }> }).unmaskingSentTo;
    const answer = await participants[0]!.unmask(requests.get(1)!);
    expect(await refusal(() => s2.receiveUnmasking({ ...answer, id: 2 }))).toBe('WRONG_SHARE_COUNT');
    expect(await refusal(() => s2.receiveUnmasking({ ...answer, keyShares: [...answer.keyShares, answer.seedShares[0]] }))).toBe('WRONG_SHARE_COUNT');
    s2.receiveUnmasking(answer);
    expect(await refusal(() => s2.receiveUnmasking(answer))).toBe('REPLAYED');
  });
});

describe('SecAgg+ participant refuses what an honest participant must not answer', () => {
  it('neighbour keys that are not its neighbours, repeat its own key, or repeat each other', async () => {
    const people = await createParticipants(setup);
    const server = await SecAggServer.create(setup);
    for (const p of people) server.receiveAdvertise(await p.advertise());
    const keys = server.closeAdvertise().get(1)!;
    const own = await SecAggParticipant.create(setup, 1);
    const ownAdv = await own.advertise();
    expect(await refusal(() => own.shareKeys({ keys: [...keys.keys.slice(1), { ...keys.keys[0]!, maskPublicKey: ownAdv.maskPublicKey }] }))).toBe('REPLAYED');
    const other = await SecAggParticipant.create(setup, 1);
    await other.advertise();
    expect(await refusal(() => other.shareKeys({ keys: [...keys.keys, { ...keys.keys[0]!, id: 1 }] }))).toBe('UNKNOWN_ID');
    const third = await SecAggParticipant.create(setup, 1);
    await third.advertise();
    expect(await refusal(() => third.shareKeys({ keys: [...keys.keys.slice(1), { ...keys.keys[0]!, sharePublicKey: keys.keys[1]!.sharePublicKey }] }))).toBe('REPLAYED');
    const fourth = await SecAggParticipant.create(setup, 1);
    await fourth.advertise();
    expect(await refusal(() => fourth.shareKeys({ keys: keys.keys.slice(0, 3) }))).toBe('BELOW_THRESHOLD');
  });

  it('its own shares, both kinds for one id, an unknown id, a second request', async () => {
    const { people, incoming } = await atMaskStage();
    const ask = async (i: number) => {
      const p = people[i]!;
      await p.maskRing(incoming.get(p.id)!, new Uint32Array(shape.maskedLength));
      return { p, held: p.heldShares() };
    };
    const a = await ask(0);
    expect(await refusal(() => a.p.unmask({ survivors: [1, ...a.held], dropped: [] }))).toBe('OWN_SHARES_REQUESTED');
    const b = await ask(1);
    expect(await refusal(() => b.p.unmask({ survivors: b.held, dropped: [b.held[0]!] }))).toBe('INCONSISTENT_UNMASKING');
    const c = await ask(2);
    const stranger = [1, 2, 4, 5, 6, 7, 8, 9, 10].find((j) => !c.held.includes(j))!;
    expect(await refusal(() => c.p.unmask({ survivors: [...c.held, stranger], dropped: [] }))).toBe('UNKNOWN_ID');
    const d = await ask(3);
    expect(await refusal(() => d.p.unmask({ survivors: d.held.slice(1), dropped: [] }))).toBe('INCONSISTENT_UNMASKING');
    const e = await ask(4);
    const first = await e.p.unmask({ survivors: e.held.slice(1), dropped: [e.held[0]!] });
    expect(first.keyShares.map((s) => s.of)).toEqual([e.held[0]]);
    // The server cannot come back for the seed share of the id it just got a key share of.
    expect(await refusal(() => e.p.unmask({ survivors: e.held, dropped: [] }))).toBe('WRONG_STAGE');
    const f = await ask(5);
    expect(await refusal(() => f.p.unmask({ survivors: [], dropped: f.held }))).toBe('BELOW_THRESHOLD');
  });

  it('a sealed share moved to another receiver or tampered with does not open', async () => {
    const { people, shared, keys } = await atMaskStage();
    const p = people[0]!;
    const from = keys.get(1)!.keys[0]!.id;
    const forOther = shared.get(from)!.shares.find((s) => s.to !== 1)!;
    const sealed = forOther.sealed.slice();
    const incoming = { shares: people.filter((q) => keys.get(1)!.keys.some((k) => k.id === q.id)).map((q) => ({ from: q.id, sealed: shared.get(q.id)!.shares.find((s) => s.to === 1)!.sealed })) };
    incoming.shares[0] = { from, sealed };
    await p.maskRing(incoming, new Uint32Array(shape.maskedLength));
    const held = p.heldShares();
    expect(await refusal(() => p.unmask({ survivors: held, dropped: [] }))).toBe('DECRYPT_FAILED');
  });
});

describe('SecAgg+ below the threshold: the round is abandoned and nothing is revealed', () => {
  it('too few masked inputs: no unmasking request is ever made', async () => {
    const drops = { mask: someIds(10, 0.7) };
    await expect(runToUnmasking(setup, zero, drops)).rejects.toMatchObject({ reason: 'BELOW_THRESHOLD' });
  });

  it('too few answers to unmask: finishing fails with BELOW_THRESHOLD', async () => {
    const { server } = await runToUnmasking(setup, zero, { unmask: someIds(10, 0.6) });
    await expect(server.finish()).rejects.toMatchObject({ reason: 'BELOW_THRESHOLD' });
    expect(server.stage).toBe('abandoned');
  });

  it('a bad share is caught against the commitment, and other subsets are tried', async () => {
    const { server } = await runToUnmasking(setup, zero, { unmask: [1] });
    const shares = (server as unknown as { seedShares: Map<number, Uint8Array[]> }).seedShares;
    const first = shares.get(2)!;
    first[0] = first[0]!.map((v, i) => (i < 32 ? v ^ 1 : v));
    const { sum } = await server.unmask();
    expect(Array.from(sum, (v) => v & (2 ** shape.ringBits - 1)).every((v) => v === 0)).toBe(true);
  });
});

describe('SecAgg+ masked vectors look uniform', () => {
  it('a masked all-zero input passes a chi-square test on 64 bins; the unmasked one fails it', async () => {
    const big: SecAggSetupInput = { ...setup, roundId: 'uniform', length: 16_384 };
    const sh = secAggShape(big);
    const server = await SecAggServer.create(big);
    const people = await createParticipants(big);
    for (const p of people) server.receiveAdvertise(await p.advertise());
    const keys = server.closeAdvertise();
    for (const p of people) server.receiveShares(await p.shareKeys(keys.get(p.id)!));
    const incoming = server.closeShares();
    const input = new Uint32Array(sh.maskedLength);
    const msg = await people[0]!.maskRing(incoming.get(1)!, input.slice());
    const chi = (values: Uint32Array) => {
      const bins = new Float64Array(64);
      for (const v of values) bins[Math.floor(((v & (2 ** sh.ringBits - 1)) / 2 ** sh.ringBits) * 64)]! += 1;
      const expected = values.length / 64;
      return bins.reduce((acc, o) => acc + (o - expected) ** 2 / expected, 0);
    };
    // 63 degrees of freedom. The keys (so the masks) are fresh randomness each run, so a uniform mask
    // exceeds any bound now and then: at the 99.9th percentile (103.4) one run in a thousand failed
    // (a clean-clone CI saw 107.6). The bound is the 99.9999th percentile (131.4); a mask that is
    // not uniform lands far above it (the unmasked zeros score about a million).
    expect(chi(unpackRing(msg.masked, sh.maskedLength, sh.ringBits))).toBeLessThan(131.4);
    expect(chi(input)).toBeGreaterThan(131.4);
  });
});
