/**
 * The resource model (Mesos `Resource`/`Resources`), re-exported from its
 * parts under `protocol/resources/`: identities (roles, reservations,
 * persistent volumes) in identity.ts, range lists in ranges.ts, the entries a
 * set is made of in entries.ts, the text and JSON forms in text.ts, and the
 * {@link Resources} class in resources.ts. Allocation rules built on it (min
 * allocatable resources, dominant shares) are in `policies/`.
 */

export { persistenceOf, reservationOf, UNRESERVED_ROLE } from "./resources/identity.ts";
export { Resources } from "./resources/resources.ts";
