import ArgumentParser
import Foundation
import TrustGateAllowList
import TrustGateGateway
import TrustGatePKI

extension AllowListCommand {
    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Would this gateway accept this backend? The gateway's own decision, offline.",
            discussion: """
                Evaluates the chain in --chain, or the chain the backend at --connect HOST:PORT presents (SNI: \
                --sni, else --hostname, else HOST), against the gateway's allow-list with the same evaluator and \
                policy the gateway runs: pinned (the leaf is a pinned certificate, its key is pinned, or it \
                verifies up to a CA whose key is pinned), trusted-root (the chain validates to a trusted-root entry \
                for --hostname), well-known-ca, or, without --mode, either of the first two. --connect uses the \
                gateway's own TLS client and builds the judged chain as the gateway does: exactly as presented, \
                every certificate parsed (one that does not parse is malformed, never skipped); --timeout bounds \
                the connect and the handshake together. Exit 0 accepted; 1 rejected, with the reason category \
                (not-allowlisted, untrusted-root, hostname-mismatch, expired and the others of cert verify, \
                malformed, too-complex, unreachable, timeout, handshake-failed).

                EXAMPLES:
                  trustgate allowlist check --gateway g1 --chain backend.pem --hostname backend.test
                  trustgate allowlist check --gateway g1 --connect 10.0.0.4:443 --hostname backend.test --json
                """
        )

        @OptionGroup var gateway: GatewayOption

        @Option(help: "The chain the backend presents (PEM, DER or PFX), leaf first.")
        var chain: String?

        @Option(help: "Fetch the chain from a live backend, HOST:PORT.")
        var connect: String?

        @Option(help: "The SNI to send with --connect (default: --hostname, else HOST).")
        var sni: String?

        @Option(help: "The host name the backend must be valid for.")
        var hostname: String?

        @Option(help: "The gateway's trust mode to apply (default: pinned or trusted-root).")
        var mode: TrustMode?

        @Option(help: "Seconds the whole --connect may take: connect and TLS handshake.", transform: Seconds.parse)
        var timeout: TimeInterval = 10

        @Option(help: "strict (RFC 5280 and the CA/Browser Forum server profile) or compatible (RFC 5280, CN when no SAN).")
        var profile: VerificationProfile = .strict

        @OptionGroup var passwords: InputPasswordOptions
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: JSONOptions

        func validate() throws {
            guard (chain == nil) != (connect == nil) else {
                throw ValidationError("give exactly one of --chain and --connect")
            }
        }

        func run() async throws {
            let store = try storeOptions.open()
            let entries = try readEntries(of: gateway.gateway, in: store)
            let presented: [ParsedCertificate]
            let source: String
            if let chain {
                presented = try InputFile.certificates(chain, passwords: passwords).certificates
                source = chain
            } else {
                let (host, port) = try Self.hostAndPort(connect ?? "")
                source = "\(host):\(port)"
                switch await PresentedChainFetch.fetch(
                    host: host, port: port, serverName: sni ?? hostname ?? host, timeout: timeout
                ) {
                case .chain(let fetched):
                    presented = fetched
                case .failed(let category, let detail):
                    try VerdictOutput.print(
                        TrustVerdict(chain: [], problems: [TrustProblem(category, detail)]), file: source, json: output.json
                    )
                    throw ExitCode(CLIError.ExitStatus.rejected.rawValue)
                }
            }
            let policy = AllowListPolicy(gateway: gateway.gateway, entries: entries)
            let verdict = await policy.evaluate(
                presented: presented, identity: hostname.map(ServerIdentity.init), mode: mode, profile: profile
            )
            try VerdictOutput.print(verdict, file: source, json: output.json)
            if !verdict.isTrusted { throw ExitCode(CLIError.ExitStatus.rejected.rawValue) }
        }

        /// HOST:PORT as a pool member is written (`[IPv6]:port` in brackets); the port is required here.
        static func hostAndPort(_ text: String) throws(CLIError) -> (String, Int) {
            guard let member = GatewayConfiguration.Member(parsing: text), let port = member.port else {
                throw .usage("--connect takes HOST:PORT (e.g. backend.test:443 or [::1]:8443)")
            }
            return (member.host, port)
        }
    }
}
