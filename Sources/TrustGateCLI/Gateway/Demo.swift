import ArgumentParser
import Foundation
import TrustGateGateway

/// `trustgate demo`.
public struct Demo: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "See end-to-end TLS with an allow-list work, in a temporary directory, in seconds.",
        discussion: """
            Creates a test PKI, starts a test HTTPS backend and the gateway on 127.0.0.1, registers the test root \
            with the gateway's allow-list (an SQLite store in the temporary directory), sends a request through \
            (200), swaps the backend to a certificate from an unregistered root, sends it again (502 naming the \
            reason), prints each step, and removes everything. Exit 0 when both answers are the expected ones.

            EXAMPLES:
              trustgate demo
            """
    )

    public init() {}

    public func run() async throws {
        let succeeded: Bool
        do {
            succeeded = try await GatewayDemo.run { line in
                FileHandle.standardOutput.write(Data((line + "\n").utf8))
            }
        } catch {
            throw CLIError(what: "the demo failed", why: "\(error)", status: .software)
        }
        guard succeeded else {
            throw CLIError(what: "the demo failed", why: "the gateway did not answer 200 and then 502 untrusted-root",
                           status: .rejected)
        }
        print("Done: the gateway talked only to the backend it was told to trust.")
    }
}
