import { TollgateError } from "../errors/tollgate-error.ts";
import { svidRejected } from "./svid-rejection.ts";
import type { TrustBundleSet } from "./trust-bundles.ts";
import type { VerifiedX509Svid, X509SvidVerifier } from "./x509-svid-verifier.ts";

export interface ConnectionIdentitySource {
  readonly verifier: X509SvidVerifier;
  /** The trust bundles in use now. */
  readonly bundles: () => TrustBundleSet;
  /** The time, in milliseconds since the epoch. */
  readonly now: () => number;
  /** Called when a connection is verified again because the bundles changed since its last verification. */
  readonly onReverify: () => void;
}

/**
 * The identity of one TLS connection: verified when the connection is made, and kept true for as
 * long as the connection lives.
 *
 * A verification holds for the bundles it was made against and until the verified path expires. A
 * keep-alive connection can outlive both: an agent under steady traffic keeps its connection for
 * hours, past its SVID's end, and past an operator withdrawing its trust domain's authorities. So a
 * request first compares two values it already has (the bundles' revision, the clock against the
 * path's notAfter); only when the bundles changed is the connection's chain verified again, once,
 * which the verifier's cache makes cheap for chains it has seen under the new bundles.
 */
export class ConnectionIdentity {
  readonly #chain: readonly Buffer[] | Error;
  readonly #source: ConnectionIdentitySource;
  #revision: string | undefined;
  #verification: Promise<VerifiedX509Svid>;
  /** The verification's result once it is known and still the current one. */
  #verified: VerifiedX509Svid | undefined;

  /** `chain` is what the peer presented (leaf first), or why it could not be read. */
  constructor(chain: readonly Buffer[] | Error, source: ConnectionIdentitySource) {
    this.#chain = chain;
    this.#source = source;
    this.#verification = this.#verify();
  }

  /** The identity for a request arriving now; rejects with the TollgateError of the failed rule. */
  current(): Promise<VerifiedX509Svid> {
    if (!(this.#chain instanceof Error) && this.#bundlesChanged()) {
      this.#source.onReverify();
      this.#verification = this.#verify();
    }
    const verified = this.#verified;
    if (verified !== undefined && verified.notAfter.getTime() < this.#source.now()) {
      return Promise.reject(
        svidRejected(
          "expired",
          `the X.509-SVID this connection was verified with expired at ${verified.notAfter.toISOString()}; ` +
            "connect again with the renewed SVID",
        ),
      );
    }
    return this.#verification;
  }

  #bundlesChanged(): boolean {
    try {
      return this.#source.bundles().revision !== this.#revision;
    } catch {
      // The failure is reported by the verification it leads to.
      return true;
    }
  }

  #verify(): Promise<VerifiedX509Svid> {
    this.#verified = undefined;
    let verification: Promise<VerifiedX509Svid>;
    if (this.#chain instanceof Error) {
      verification = Promise.reject(this.#chain);
    } else {
      try {
        const bundles = this.#source.bundles();
        this.#revision = bundles.revision;
        verification = this.#source.verifier.verify(this.#chain, bundles);
      } catch (error) {
        // A failing bundle accessor is a gateway bug; it must fail this connection, not the process.
        this.#revision = undefined;
        verification = Promise.reject(new TollgateError("TG_ERR_INTERNAL", "The gateway could not verify this connection's identity.", { cause: error }));
      }
    }
    verification.then(
      (verified) => {
        if (this.#verification === verification) this.#verified = verified;
      },
      // The rejection is handled by whoever awaits current(); a connection that sends no request
      // must not leave an unhandled rejection behind.
      () => undefined,
    );
    return verification;
  }
}
