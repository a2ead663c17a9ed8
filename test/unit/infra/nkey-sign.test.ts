import { nkeyAuthenticator as natsNkeyAuthenticator } from "@nats-io/nats-core";
import { createUser, fromPublic } from "@nats-io/nkeys";
import test from "ava";
import { nkeyAuthenticator, nkeyPairFromSeed } from "../../../infra/nkey-sign.ts";

test("node:crypto signing gives nats.js's public key and signature, which the nkey verifies", (t) => {
  for (let i = 0; i < 5; i++) {
    const user = createUser();
    const seed = user.getSeed();
    const nonce = `nonce-${i}-${Math.random()}`;
    const ours = nkeyAuthenticator(seed)(nonce);
    t.deepEqual(ours, natsNkeyAuthenticator(seed)(nonce));
    t.is(ours.nkey, user.getPublicKey());
    const sig = Buffer.from(String(ours.sig), "base64");
    t.true(fromPublic(user.getPublicKey()).verify(new TextEncoder().encode(nonce), sig));
  }
});

test("a malformed or corrupted seed is an INVALID_CONFIG error that does not quote it", (t) => {
  const seed = new TextDecoder().decode(createUser().getSeed());
  const flipped = seed.slice(0, 10) + (seed[10] === "A" ? "B" : "A") + seed.slice(11);
  for (const bad of ["", "not a seed", flipped, seed.slice(0, -2)]) {
    const err = t.throws(() => nkeyPairFromSeed(new TextEncoder().encode(bad)));
    t.is((err as { code?: string }).code, "INVALID_CONFIG");
    t.false(err.message.includes(seed.slice(3, 20)));
  }
});
