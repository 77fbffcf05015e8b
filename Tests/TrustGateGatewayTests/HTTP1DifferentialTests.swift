import Foundation
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing
import TrustGateTesting
@testable import TrustGateGateway

/// The gateway's reader against NIOHTTP1's decoder (llhttp, the parser of Node and many backends), on mutated
/// requests: every message the gateway accepts is read by llhttp into the same head and body at the same
/// boundaries, and what the gateway forwards for it is read by llhttp as exactly that one request.
@Suite("HTTP/1.1 differential: the gateway's reader and llhttp agree on every message the gateway accepts")
struct HTTP1DifferentialTests {
    /// One request as a parser read it.
    struct Message: Equatable, CustomStringConvertible {
        var method: String
        var uri: String
        var minor: Int
        var fields: [String]
        var body: [UInt8]

        var description: String { "\(method) \(uri) 1.\(minor) \(fields) \(String(decoding: body, as: UTF8.self).debugDescription)" }
    }

    /// The messages the gateway's reader accepts from the front of `bytes`, stopping at the first it refuses; with
    /// each, the bytes the gateway forwards for it.
    static func ours(_ bytes: [UInt8]) -> [(message: Message, forwarded: [UInt8])] {
        var result: [(Message, [UInt8])] = []
        var heads = HeadReader(request: true)
        var buffer = ByteBuffer(bytes: bytes)
        do {
            while buffer.readableBytes > 0 {
                guard let headBytes = try heads.take(&buffer) else { break }
                let request = try HTTP1.Request(HTTP1.parse(headBytes, request: true))
                let head = request.head
                var forwarded = ByteBuffer()
                request.writeForwardedHead(host: "backend.test", into: &forwarded)
                forwarded.writeStaticString("\r\n")
                var data: [UInt8] = []
                if request.framing.hasBody {
                    var dechunk = BodyReader(request.framing, output: .dechunk)
                    var reframe = BodyReader(request.framing, output: .reframe)
                    var copy = buffer
                    var slices: [ByteBuffer] = []
                    guard try dechunk.read(&buffer, into: &slices) else { break }  // the body did not all arrive
                    for slice in slices { data += slice.readableBytesView }
                    slices.removeAll()
                    _ = try reframe.read(&copy, into: &slices)
                    for var slice in slices { forwarded.writeBuffer(&slice) }
                }
                let fields = head.fields.map { "\(head.string($0.name).lowercased()): \(head.string($0.value))" }
                result.append((Message(method: head.method, uri: head.target, minor: head.minorVersion, fields: fields, body: data),
                               Array(forwarded.readableBytesView)))
            }
        } catch {
            return result
        }
        return result
    }

    /// What llhttp reads from `bytes`: the complete messages, and whether it stopped with an error.
    static func llhttp(_ bytes: [UInt8]) -> (messages: [Message], error: HTTPParserError?) {
        let channel = EmbeddedChannel()
        defer { _ = try? channel.finish() }
        var messages: [Message] = []
        var current: Message?
        var failure: HTTPParserError?
        do {
            try channel.pipeline.syncOperations.addHandler(
                ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes))
            )
            try channel.writeInbound(ByteBuffer(bytes: bytes))
        } catch let error as HTTPParserError {
            failure = error
        } catch {
            failure = .unknown
        }
        while let part = try? channel.readInbound(as: HTTPServerRequestPart.self) {
            switch part {
            case .head(let head):
                current = Message(method: head.method.rawValue, uri: head.uri, minor: head.version.minor,
                                  fields: head.headers.map { "\($0.name.lowercased()): \($0.value)" }, body: [])
            case .body(let buffer):
                current?.body += buffer.readableBytesView
            case .end:
                if let current { messages.append(current) }
                current = nil
            }
        }
        return (messages, failure)
    }

    static let seeds = [
        "GET /a?b=1 HTTP/1.1\r\nHost: a.test\r\nAccept: */*\r\n\r\n",
        "POST /p HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\n\r\nhelloGET /next HTTP/1.1\r\nHost: b\r\n\r\n",
        "POST /c HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n5;x=\"y\"\r\nhello\r\n0\r\nT-A: 1\r\n\r\n",
        "GET http://a.test/x HTTP/1.1\r\nHost: a.test\r\nConnection: keep-alive, x-b\r\nX-B: 2\r\n\r\n",
        "PUT /u HTTP/1.0\r\nContent-Length: 3\r\nHost: c.test:8080\r\n\r\nabc",
        "OPTIONS * HTTP/1.1\r\nHost: [::1]:443\r\n\r\n",
    ].map { Array($0.utf8) }

    @Test("4,000 mutated requests: whatever the gateway accepts, llhttp reads alike; what it forwards, llhttp reads as one request")
    func differential() {
        var generator = XorShift(seed: 0x2545_F491_4F6C_DD1D)
        let alphabet = Array("\r\n :;,-/0123456789aAfFxX\t\"=?%.\u{0}\u{7F}".utf8) + [0x80, 0xFF]
        let started = Date()
        var compared = 0
        var forwardedChecked = 0
        for round in 0..<4_000 where Date().timeIntervalSince(started) < 60 {
            var bytes = Self.seeds[round % Self.seeds.count]
            if round >= Self.seeds.count {
                for _ in 0..<(1 + Int(generator.next() % 4)) where !bytes.isEmpty {
                    let index = Int(generator.next() % UInt64(bytes.count))
                    let byte = alphabet[Int(generator.next() % UInt64(alphabet.count))]
                    switch generator.next() % 3 {
                    case 0: bytes[index] = byte
                    case 1: bytes.insert(byte, at: index)
                    default: bytes.remove(at: index)
                    }
                }
            }
            let accepted = Self.ours(bytes)
            guard !accepted.isEmpty else { continue }
            // Same messages, same boundaries, for what the gateway accepted.
            let theirs = Self.llhttp(bytes)
            if !Self.knownDifference(theirs.error, accepted.map(\.message)) {
                for (index, (message, _)) in accepted.enumerated() {
                    guard index < theirs.messages.count else {
                        Issue.record("llhttp read \(theirs.messages.count) messages (\(String(describing: theirs.error))), the gateway \(accepted.count): \(String(decoding: bytes, as: UTF8.self).debugDescription)")
                        break
                    }
                    #expect(theirs.messages[index] == message, "\(String(decoding: bytes, as: UTF8.self).debugDescription)")
                    compared += 1
                }
            }
            // What the gateway forwards: exactly the one request it understood.
            for (message, original) in accepted {
                var forwarded = original
                var read = Self.llhttp(forwarded)
                if read.error == .invalidMethod, let space = forwarded.firstIndex(of: UInt8(ascii: " ")) {
                    // A method llhttp does not know (the gateway forwards any upper-case token, as nginx): the rest
                    // of the message is checked under GET.
                    forwarded = Array("GET".utf8) + forwarded[space...]
                    read = Self.llhttp(forwarded)
                }
                #expect(read.error == nil && read.messages.count == 1,
                        "forwarded \(String(decoding: forwarded, as: UTF8.self).debugDescription): \(read)")
                guard let first = read.messages.first else { continue }
                #expect((first.method == message.method || forwarded != original) && first.body == message.body
                        && first.minor == 1,
                        "forwarded \(String(decoding: forwarded, as: UTF8.self).debugDescription): \(first) for \(message)")
                forwardedChecked += 1
            }
        }
        #expect(compared > 500 && forwardedChecked > 500, "compared \(compared), forwarded \(forwardedChecked)")
    }

    /// Where the gateway is knowingly more permissive than llhttp: it collapses a repeated or listed
    /// Content-Length of one value (RFC 9110 §8.6; llhttp refuses it), and accepts any upper-case method token
    /// (as nginx; llhttp knows a fixed list). What it forwards is then canonical, which the second check covers.
    static func knownDifference(_ error: HTTPParserError?, _ messages: [Message]) -> Bool {
        guard let error else { return false }
        switch error {
        case .invalidMethod:
            return true
        case .unexpectedContentLength, .invalidContentLength:
            return messages.contains { message in
                message.fields.filter { $0.hasPrefix("content-length:") }.count > 1
                    || message.fields.contains { $0.hasPrefix("content-length:") && $0.contains(",") }
            }
        default:
            return false
        }
    }
}
