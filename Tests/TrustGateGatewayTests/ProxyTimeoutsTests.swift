import NIOCore
import Testing
@testable import TrustGateGateway

/// The connection's deadlines on a clock the test turns by hand.
@Suite("ProxyTimeouts: keep-alive, header (408), request (504), read, send")
struct ProxyTimeoutsTests {
    let limits = ProxyTimeouts.Limits(keepAlive: .seconds(75), header: .seconds(10), send: .seconds(60))
    let start = NIODeadline.uptimeNanoseconds(5_000_000_000)

    func at(_ seconds: Int64) -> NIODeadline { start + .seconds(seconds) }

    @Test("The first request's header timeout runs from the accept; later ones wait the keep-alive timeout")
    func waiting() {
        var timeouts = ProxyTimeouts()
        timeouts.waitForRequest(at: start, first: true)
        #expect(timeouts.next(limits, responsePending: false, responseStarted: false, backendPaused: false) == at(10))
        #expect(timeouts.expired(at: at(9), limits, responsePending: false, responseStarted: false, backendPaused: false) == nil)
        #expect(timeouts.expired(at: at(10), limits, responsePending: false, responseStarted: false, backendPaused: false) == .idle)

        var later = ProxyTimeouts()
        later.waitForRequest(at: start, first: false)
        #expect(later.next(limits, responsePending: false, responseStarted: false, backendPaused: false) == at(75))
        // Part of a head arrives at 70 s: from then the header timeout runs, and its expiry is a 408.
        later.headBegan(at: at(70))
        #expect(later.next(limits, responsePending: false, responseStarted: false, backendPaused: false) == at(80))
        #expect(later.expired(at: at(80), limits, responsePending: false, responseStarted: false, backendPaused: false) == .headIncomplete)
        #expect(later.expired(at: at(90), limits, responsePending: false, responseStarted: false, backendPaused: false) == nil,
                "an expiry is reported once")
    }

    @Test("While a response is pending the waiting timeouts stop; the request timeout runs until the response begins")
    func requestTimeout() {
        var timeouts = ProxyTimeouts()
        timeouts.waitForRequest(at: start, first: true)
        timeouts.requestBegan()
        timeouts.awaitResponse(at: at(1), within: .seconds(30))
        #expect(timeouts.next(limits, responsePending: true, responseStarted: false, backendPaused: false) == at(31))
        #expect(timeouts.expired(at: at(31), limits, responsePending: true, responseStarted: false, backendPaused: false) == .noResponse)
        #expect(timeouts.next(limits, responsePending: true, responseStarted: false, backendPaused: false) == nil)
    }

    @Test("The read timeout runs from the backend's last read, and not while the slow client pauses it")
    func readTimeout() {
        var timeouts = ProxyTimeouts()
        timeouts.awaitResponse(at: start, within: .seconds(30))
        timeouts.responseBegan(at: at(2), readTimeout: .seconds(5))
        #expect(timeouts.next(limits, responsePending: true, responseStarted: true, backendPaused: false) == at(7))
        timeouts.upstreamRead(at: at(6))
        #expect(timeouts.expired(at: at(10), limits, responsePending: true, responseStarted: true, backendPaused: false) == nil)
        #expect(timeouts.expired(at: at(11), limits, responsePending: true, responseStarted: true, backendPaused: false) == .backendStalled)
        #expect(timeouts.expired(at: at(50), limits, responsePending: true, responseStarted: true, backendPaused: true) == nil)
        timeouts.responseEnded()
        #expect(timeouts.next(limits, responsePending: true, responseStarted: false, backendPaused: false) == nil)
    }

    @Test("The send timeout runs while the client takes nothing, and comes first")
    func sendTimeout() {
        var timeouts = ProxyTimeouts()
        timeouts.waitForRequest(at: start, first: true)
        timeouts.clientWritable(false, at: at(1))
        timeouts.clientWritable(false, at: at(5))  // still the first moment it stopped
        #expect(timeouts.next(limits, responsePending: false, responseStarted: false, backendPaused: false) == at(10))
        #expect(timeouts.expired(at: at(61), limits, responsePending: false, responseStarted: false, backendPaused: false) == .clientStoppedReading)
        timeouts.clientWritable(true, at: at(62))
        #expect(timeouts.expired(at: at(62), limits, responsePending: false, responseStarted: false, backendPaused: false) == .idle)
    }
}
