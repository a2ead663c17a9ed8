import test from "ava";
import { FrameworkOffers, OfferBook } from "../../../actors/master/offer-book.ts";

interface Entry {
  readonly offerId: string;
  readonly seq: number;
  inList: object | undefined;
  prevInList: Entry | undefined;
  nextInList: Entry | undefined;
}

function entry(book: OfferBook<Entry>, seq: number): Entry {
  return {
    offerId: book.idOf(seq),
    seq,
    inList: undefined,
    prevInList: undefined,
    nextInList: undefined,
  };
}

test("offer book - an offer is found by its exact id only", (t) => {
  const book = new OfferBook<Entry>("m1");
  const offer = entry(book, 7);
  book.add(offer);
  t.is(offer.offerId, "m1-O7");
  t.is(book.get("m1-O7"), offer);
  t.true(book.has("m1-O7"));
  // the same number written otherwise, another master's id, and strings that are no offer id
  for (const id of ["m1-O07", "m1-O7.0", "m1-O 7", "m2-O7", "m1-IO7", "m1-O", "m1-O-7", "", "7"]) {
    t.is(book.get(id), undefined, id);
  }
  t.is(book.size, 1);
  t.true(book.delete(offer));
  t.false(book.delete(offer));
  t.is(book.get("m1-O7"), undefined);
  t.is(book.size, 0);
});

test("offer book - deleting an offer that is not the book's leaves the book's offer", (t) => {
  const book = new OfferBook<Entry>("m1");
  const offer = entry(book, 3);
  book.add(offer);
  t.false(book.delete({ ...offer }));
  t.is(book.get("m1-O3"), offer);
  t.deepEqual([...book.values()], [offer]);
});

test("framework offers - kept in the order made; any one taken out; the visited one deletable while iterating", (t) => {
  const book = new OfferBook<Entry>("m1");
  const list = new FrameworkOffers<Entry>();
  const other = new FrameworkOffers<Entry>();
  const offers = [0, 1, 2, 3, 4].map((n) => entry(book, n));
  for (const o of offers) list.add(o);
  t.is(list.size, 5);
  t.throws(() => other.add(offers[0]!), { message: /listed already/ });
  t.false(other.delete(offers[0]!));
  t.false(other.has(offers[0]!));
  // the middle, the head and the tail
  t.true(list.delete(offers[2]!));
  t.true(list.delete(offers[0]!));
  t.true(list.delete(offers[4]!));
  t.false(list.delete(offers[4]!));
  t.deepEqual(
    [...list].map((o) => o.seq),
    [1, 3],
  );
  list.add(offers[4]!);
  const seen: number[] = [];
  for (const o of list) {
    seen.push(o.seq);
    list.delete(o);
  }
  t.deepEqual(seen, [1, 3, 4]);
  t.is(list.size, 0);
  t.deepEqual([...list], []);
  other.add(offers[1]!);
  t.true(other.has(offers[1]!));
});

test("offer book - offers that outlive many later ones, and a book that grows, are all found", (t) => {
  const book = new OfferBook<Entry>("m1");
  const kept = [entry(book, 0), entry(book, 5)];
  for (const o of kept) book.add(o);
  // many later offers come and go, passing the kept ones' slots again and again
  for (let seq = 6; seq < 10_000; seq++) {
    const o = entry(book, seq);
    book.add(o);
    if (seq % 3 !== 0) t.true(book.delete(o));
    else kept.push(o);
  }
  t.is(book.size, kept.length);
  for (const o of kept) t.is(book.get(o.offerId), o, o.offerId);
  t.is(book.get("m1-O1"), undefined);
  t.deepEqual(
    book.values().map((o) => o.seq),
    kept.map((o) => o.seq),
  );
  for (const o of kept) t.true(book.delete(o));
  t.is(book.size, 0);
  t.deepEqual(book.values(), []);
});
