import CoreMetrics
import Foundation
import NIOConcurrencyHelpers
import Prometheus
import TrustGatePKI

/// The gateway's metrics, through swift-metrics into a Prometheus registry the admin listener serves:
///
/// - `trustgate_requests_total{pool, status}`: answered requests (`pool` is `-` when none was chosen);
/// - `trustgate_request_duration_seconds{pool}`: from the request head to the end of the response (histogram);
/// - `trustgate_upstream_handshakes_total{pool, category}`: upstream TLS handshakes by verdict (`ok` or the
///   reason category);
/// - `trustgate_backend_certificate_not_after_seconds{pool, member, sha256}`: the notAfter (Unix time) of each
///   backend leaf certificate presented;
/// - `trustgate_open_connections`: open client connections.
///
/// Each labelled metric is made once and kept: the hot path takes one lock and an atomic add.
final class GatewayMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private let requests = NIOLockedValueBox<[RequestKey: CoreMetrics.Counter]>([:])
    private let durations = NIOLockedValueBox<[String: CoreMetrics.Timer]>([:])
    private let handshakes = NIOLockedValueBox<[HandshakeKey: CoreMetrics.Counter]>([:])
    private let certificates = NIOLockedValueBox<[CertificateKey: CoreMetrics.Gauge]>([:])
    private let healthGauges = NIOLockedValueBox<[CertificateKey: CoreMetrics.Gauge]>([:])
    private let openConnections: CoreMetrics.Gauge

    private struct RequestKey: Hashable {
        var pool: String
        var status: Int
    }

    private struct HandshakeKey: Hashable {
        var pool: String
        var category: String
    }

    private struct CertificateKey: Hashable {
        var pool: String
        var member: String
        var sha256: String
    }

    init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
            .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30),
        ]
        self.factory = factory
        openConnections = Gauge(label: "trustgate_open_connections", factory: factory)
    }

    func requestAnswered(pool: String, status: Int, nanoseconds: Int64) {
        let key = RequestKey(pool: pool, status: status)
        let counter = requests.withLockedValue { counters in
            if let counter = counters[key] { return counter }
            let counter = CoreMetrics.Counter(
                label: "trustgate_requests_total", dimensions: [("pool", pool), ("status", String(status))], factory: factory
            )
            counters[key] = counter
            return counter
        }
        counter.increment()
        let timer = durations.withLockedValue { timers in
            if let timer = timers[pool] { return timer }
            let timer = CoreMetrics.Timer(label: "trustgate_request_duration_seconds", dimensions: [("pool", pool)], factory: factory)
            timers[pool] = timer
            return timer
        }
        timer.recordNanoseconds(nanoseconds)
    }

    func handshake(pool: String, category: String) {
        let key = HandshakeKey(pool: pool, category: category)
        handshakes.withLockedValue { counters in
            if let counter = counters[key] { return counter }
            let counter = CoreMetrics.Counter(
                label: "trustgate_upstream_handshakes_total", dimensions: [("pool", pool), ("category", category)],
                factory: factory
            )
            counters[key] = counter
            return counter
        }.increment()
    }

    func backendCertificate(pool: String, member: String, leaf: ParsedCertificate) {
        let key = CertificateKey(pool: pool, member: member, sha256: leaf.sha256.hexString)
        certificates.withLockedValue { gauges in
            if let gauge = gauges[key] { return gauge }
            let gauge = CoreMetrics.Gauge(
                label: "trustgate_backend_certificate_not_after_seconds",
                dimensions: [("pool", pool), ("member", member), ("sha256", key.sha256)], factory: factory
            )
            gauges[key] = gauge
            return gauge
        }.record(leaf.notAfter.timeIntervalSince1970)
    }

    /// `trustgate_backend_healthy{pool, member}`: 1 while active probes find the member healthy, else 0.
    func backendHealthy(pool: String, member: String, healthy: Bool) {
        let key = CertificateKey(pool: pool, member: member, sha256: "")
        healthGauges.withLockedValue { gauges in
            if let gauge = gauges[key] { return gauge }
            let gauge = CoreMetrics.Gauge(
                label: "trustgate_backend_healthy", dimensions: [("pool", pool), ("member", member)], factory: factory
            )
            gauges[key] = gauge
            return gauge
        }.record(healthy ? 1 : 0)
    }

    func openConnections(_ count: Int) {
        openConnections.record(Double(count))
    }

    /// The Prometheus text exposition of every metric.
    func exposition() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}
