import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import NIOSSL
import NIOTLS
import Testing
import TrustGatePKI
import TrustGateTesting
@testable import TrustGateGateway

/// ``UpstreamTLSHandler`` back to back with swift-nio-ssl's `NIOSSLServerHandler` on two in-memory channels: the
/// test carries the bytes between them, so every flight of the handshake is visible and no socket or process is
/// involved.
@Suite("UpstreamTLSHandler against NIOSSLServerHandler: parked verification, refusal alert, resumption, close_notify")
struct UpstreamTLSHandlerTests {
    typealias Pair = TLSBackToBack
    let pki: TestPKI
    let serverContext: NIOSSLContext
    let chain: [ParsedCertificate]

    init() throws {
        pki = try TestPKI()
        let valid = try #require(pki.backends["valid"])
        chain = [valid.certificate] + valid.chain
        serverContext = try EchoBackend.makeContext(certificates: chain, key: valid.key)
    }

    func pair(_ context: UpstreamTLSContext, judge: Judge, sessionKey: String = "backend") async throws -> Pair {
        try await TLSBackToBack.make(context, server: serverContext, judge: judge.function, sessionKey: sessionKey)
    }

    func shuttle(_ pair: Pair) async throws {
        try await pair.shuttle()
    }

    /// Records what the judge was asked and answers as told.
    final class Judge: Sendable {
        let calls = NIOLockedValueBox(0)
        let allow: Bool

        init(allow: Bool) { self.allow = allow }

        var function: UpstreamTLSHandler.Judge {
            { [self] evidence in
                calls.withLockedValue { $0 += 1 }
                return await Judgement.of(evidence) { presented in
                    let verdict = TrustVerdict(chain: presented, problems: allow ? [] : [TrustProblem(.untrustedRoot, "test")])
                    return (verdict, allow ? UpstreamAdmission(generation: 1, verdict: verdict) : nil)
                }
            }
        }
    }

    @Test("A full handshake parks for the judge and completes with its admission; writes made meanwhile go after it")
    func fullHandshake() async throws {
        let context = try UpstreamTLSContext()
        let judge = Judge(allow: true)
        let pair = try await pair(context, judge: judge)
        // Written before the handshake: held, then encrypted once it completes.
        pair.client.writeAndFlush(ByteBuffer(string: "GET / HTTP/1.1\r\n\r\n"), promise: nil)
        try await shuttle(pair)
        #expect(judge.calls.withLockedValue { $0 } == 1)
        let established = try #require(pair.observer.established)
        #expect(established.presented.map(\.der) == chain.map(\.der))
        #expect(established.admission?.generation == 1)
        #expect(!pair.tls.resumed)
        #expect(pair.serverObserver.received == "GET / HTTP/1.1\r\n\r\n")
        pair.server.writeAndFlush(ByteBuffer(string: "HTTP/1.1 204 No Content\r\n\r\n"), promise: nil)
        try await shuttle(pair)
        #expect(pair.observer.received == "HTTP/1.1 204 No Content\r\n\r\n")
    }

    @Test("A refusal: the handler fails with the verdict, the backend gets an alert, nothing of the request is sent")
    func refusal() async throws {
        let pair = try await pair(try UpstreamTLSContext(), judge: Judge(allow: false))
        pair.client.writeAndFlush(ByteBuffer(string: "secret request"), promise: nil)
        try await shuttle(pair)
        #expect(pair.observer.established == nil)
        guard case .rejected(let verdict, let presented) = pair.failure else {
            Issue.record("expected a rejection, got \(pair.observer.errors)")
            return
        }
        #expect(verdict.category == .untrustedRoot)
        #expect(presented.first?.der == chain.first?.der)
        #expect(!pair.serverObserver.errors.isEmpty, "the server's handshake fails on the alert")
        #expect(pair.serverObserver.received.isEmpty)
    }

    @Test("A second connection resumes the session without asking the judge; another session key does not")
    func resumption() async throws {
        let context = try UpstreamTLSContext()
        let judge = Judge(allow: true)
        let first = try await pair(context, judge: judge)
        try await shuttle(first)
        // TLS 1.3 tickets arrive after the handshake: a read on the client takes them.
        first.server.writeAndFlush(ByteBuffer(string: "x"), promise: nil)
        try await shuttle(first)
        #expect(first.observer.received == "x")

        let second = try await pair(context, judge: judge)
        try await shuttle(second)
        #expect(second.tls.resumed)
        #expect(second.observer.established?.presented.map(\.der) == chain.map(\.der), "the chain judged when it was made")
        #expect(judge.calls.withLockedValue { $0 } == 1)

        let other = try await pair(context, judge: judge, sessionKey: "another backend")
        try await shuttle(other)
        #expect(!other.tls.resumed)
        #expect(judge.calls.withLockedValue { $0 } == 2)
    }

    @Test("Closing sends close_notify")
    func closeNotify() async throws {
        let pair = try await pair(try UpstreamTLSContext(), judge: Judge(allow: true))
        try await shuttle(pair)
        #expect(pair.observer.established != nil)
        pair.client.close(promise: nil)
        try await shuttle(pair)
        #expect(pair.serverObserver.errors.isEmpty, "\(pair.serverObserver.errors)")
        #expect(pair.serverObserver.closeNotify, "the server saw close_notify, not a bare close")
    }
}
