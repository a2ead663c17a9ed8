/**
 * Where the outstanding offers are kept, without hashing a string per offer
 * (a full allocation cycle makes one offer per agent: 50,000 at scale):
 *
 * - {@link OfferBook}: every outstanding offer, by id. An id is
 *   `<masterId>-O<n>`, `n` from the master's offer sequence, and the book
 *   keeps offer `n` in slot `n` modulo its size (an id looked up is parsed
 *   once; no string is hashed, no hash table grows as a cycle adds offers).
 * - {@link FrameworkOffers}: one framework's outstanding offers, in the order
 *   they were made, as a list threaded through the offers themselves (adding
 *   and removing touch two neighbours, no hash table).
 */
/** What the book needs of an offer: its id and its number in the master's sequence. */
export interface Numbered {
  readonly offerId: string;
  readonly seq: number;
}

/** Slots of a new book; doubled whenever half of them hold offers. */
const INITIAL_SLOTS = 1024;

/** The outstanding offers, by id; see the module comment. */
export class OfferBook<OfferEntry extends Numbered> {
  readonly #prefix: string;
  /**
   * Offer `n` sits in slot `n & mask`: offers are numbered in sequence, so
   * the live ones fill the slots without a hash. An offer still outstanding
   * when a later one needs its slot moves to `#older`.
   */
  #slots: Array<OfferEntry | undefined> = new Array(INITIAL_SLOTS).fill(undefined);
  #mask = INITIAL_SLOTS - 1;
  readonly #older = new Map<number, OfferEntry>();
  #size = 0;

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
    if (this.#size >= this.#slots.length >> 1) this.#grow();
    this.#place(offer);
    this.#size++;
  }

  #place(offer: OfferEntry): void {
    const at = offer.seq & this.#mask;
    const occupant = this.#slots[at];
    if (occupant !== undefined) this.#older.set(occupant.seq, occupant);
    this.#slots[at] = offer;
  }

  #grow(): void {
    const live = [...this.#slots, ...this.#older.values()];
    this.#slots = new Array(this.#slots.length * 2).fill(undefined);
    this.#mask = this.#slots.length - 1;
    this.#older.clear();
    live.sort((a, b) => (a?.seq ?? 0) - (b?.seq ?? 0));
    for (const offer of live) if (offer !== undefined) this.#place(offer);
  }

  #bySeq(seq: number): OfferEntry | undefined {
    const offer = this.#slots[seq & this.#mask];
    if (offer?.seq === seq) return offer;
    return this.#older.size === 0 ? undefined : this.#older.get(seq);
  }

  /** The outstanding offer of that id (undefined for any other string: another master's, malformed). */
  get(offerId: string): OfferEntry | undefined {
    if (!offerId.startsWith(this.#prefix)) return undefined;
    const seq = Number(offerId.slice(this.#prefix.length));
    if (!Number.isSafeInteger(seq) || seq < 0) return undefined;
    const offer = this.#bySeq(seq);
    // `O01` and `O1` parse alike: only the exact id is the offer's
    return offer?.offerId === offerId ? offer : undefined;
  }

  has(offerId: string): boolean {
    return this.get(offerId) !== undefined;
  }

  /** Removes the offer; false when it was not in the book. */
  delete(offer: OfferEntry): boolean {
    const at = offer.seq & this.#mask;
    if (this.#slots[at] === offer) this.#slots[at] = undefined;
    else if (this.#older.get(offer.seq) === offer) this.#older.delete(offer.seq);
    else return false;
    this.#size--;
    return true;
  }

  /** The outstanding offers, oldest first. */
  values(): OfferEntry[] {
    const out: OfferEntry[] = [...this.#older.values()];
    for (const offer of this.#slots) if (offer !== undefined) out.push(offer);
    return out.sort((a, b) => a.seq - b.seq);
  }

  get size(): number {
    return this.#size;
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
