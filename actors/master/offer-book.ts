/**
 * Where the outstanding offers are kept, without hashing a string per offer
 * (a full allocation cycle makes one offer per agent: 50,000 at scale):
 *
 * - {@link OfferBook}: every outstanding offer, by id. An id is
 *   `<masterId>-O<n>`, `n` from the master's offer sequence, and the book is
 *   keyed by `n` (a small integer hashes without reading a string; an id
 *   looked up is parsed once).
 * - {@link FrameworkOffers}: one framework's outstanding offers, in the order
 *   they were made, as a list threaded through the offers themselves (adding
 *   and removing touch two neighbours, no hash table).
 */
/** What the book needs of an offer: its id and its number in the master's sequence. */
export interface Numbered {
  readonly offerId: string;
  readonly seq: number;
}

/** The outstanding offers, by id; see the module comment. */
export class OfferBook<OfferEntry extends Numbered> {
  readonly #prefix: string;
  readonly #bySeq = new Map<number, OfferEntry>();

  /** `masterId`: the master whose offers these are (the ids' prefix). */
  constructor(masterId: string) {
    this.#prefix = `${masterId}-O`;
  }

  /** The id of this master's offer number `seq`. */
  idOf(seq: number): string {
    return this.#prefix + seq;
  }

  /** Adds an offer made with {@link idOf}`(offer.seq)`. */
  add(offer: OfferEntry): void {
    this.#bySeq.set(offer.seq, offer);
  }

  /** The outstanding offer of that id (undefined for any other string: another master's, malformed). */
  get(offerId: string): OfferEntry | undefined {
    if (!offerId.startsWith(this.#prefix)) return undefined;
    const seq = Number(offerId.slice(this.#prefix.length));
    if (!Number.isSafeInteger(seq)) return undefined;
    const offer = this.#bySeq.get(seq);
    // `O01` and `O1` parse alike: only the exact id is the offer's
    return offer?.offerId === offerId ? offer : undefined;
  }

  has(offerId: string): boolean {
    return this.get(offerId) !== undefined;
  }

  /** Removes the offer; false when it was not in the book. */
  delete(offer: OfferEntry): boolean {
    if (this.#bySeq.get(offer.seq) !== offer) return false;
    return this.#bySeq.delete(offer.seq);
  }

  values(): IterableIterator<OfferEntry> {
    return this.#bySeq.values();
  }

  get size(): number {
    return this.#bySeq.size;
  }
}

/** The links of an offer in its framework's {@link FrameworkOffers}. */
export interface Linked<T> {
  readonly offerId: string;
  /** The list it is in (undefined: in none). */
  inList: object | undefined;
  prevInList: T | undefined;
  nextInList: T | undefined;
}

/**
 * One framework's outstanding offers in the order they were made; see the
 * module comment. Deleting the offer being visited while iterating is safe.
 */
export class FrameworkOffers<OfferEntry extends Linked<OfferEntry>>
  implements Iterable<OfferEntry>
{
  #head: OfferEntry | undefined;
  #tail: OfferEntry | undefined;
  #size = 0;

  /** Appends an offer that is in no list. */
  add(offer: OfferEntry): void {
    if (offer.inList !== undefined) throw new Error(`offer ${offer.offerId} is listed already`);
    offer.inList = this;
    offer.prevInList = this.#tail;
    offer.nextInList = undefined;
    if (this.#tail === undefined) this.#head = offer;
    else this.#tail.nextInList = offer;
    this.#tail = offer;
    this.#size++;
  }

  has(offer: OfferEntry): boolean {
    return offer.inList === this;
  }

  /** Takes the offer out; false when it is not in this list. */
  delete(offer: OfferEntry): boolean {
    if (offer.inList !== this) return false;
    const { prevInList: prev, nextInList: next } = offer;
    if (prev === undefined) this.#head = next;
    else prev.nextInList = next;
    if (next === undefined) this.#tail = prev;
    else next.prevInList = prev;
    offer.inList = undefined;
    offer.prevInList = undefined;
    offer.nextInList = undefined;
    this.#size--;
    return true;
  }

  get size(): number {
    return this.#size;
  }

  *[Symbol.iterator](): Iterator<OfferEntry> {
    let offer = this.#head;
    while (offer !== undefined) {
      const next = offer.nextInList;
      yield offer;
      offer = next;
    }
  }
}
